import { createHistogram, usePrometheus, type FillLabelsFnParams } from '@graphql-yoga/plugin-prometheus';
import type { Plugin } from 'graphql-yoga';
import type { Registry } from 'prom-client';
import { DURATION_BUCKETS } from './registry.js';

/** Distinct operation names labelled; later ones are counted as "other" (names come from clients). */
const MAX_OPERATION_NAMES = 200;

/**
 * GraphQL operation durations, by operation name and type, through yoga's Prometheus
 * plugin, into the node's registry. Only this one histogram: the plugin's other
 * defaults (per-phase histograms, a summary, a per-request HTTP histogram labelled by
 * URL) would multiply the series for little gain. It serves no endpoint of its own:
 * /metrics is routed before yoga (http.ts).
 */
export function useOperationMetrics(registry: Registry): Plugin {
  const names = new Set<string>();
  const operationName = (name: string | undefined): string => {
    const label = name ?? 'anonymous';
    if (names.has(label)) return label;
    if (names.size >= MAX_OPERATION_NAMES) return 'other';
    names.add(label);
    return label;
  };
  return usePrometheus({
    registry,
    endpoint: false,
    skipIntrospection: true,
    metrics: {
      graphql_envelop_request_duration: createHistogram({
        registry,
        histogram: {
          name: 'switchboard_graphql_operation_duration_seconds',
          help: 'Time to execute a GraphQL query or mutation (after parsing and validation), by operation name and type.',
          labelNames: ['operation_name', 'operation_type'],
          buckets: DURATION_BUCKETS,
        },
        // Not 'subscribe': a subscription's execution lasts as long as it stays open.
        phases: ['execute'],
        fillLabelsFn: (params: FillLabelsFnParams) => ({
          operation_name: operationName(params.operationName),
          operation_type: params.operationType ?? 'unknown',
        }),
      }),
      graphql_envelop_deprecated_field: false,
      graphql_envelop_request: false,
      graphql_envelop_request_time_summary: false,
      graphql_envelop_phase_parse: false,
      graphql_envelop_phase_validate: false,
      graphql_envelop_phase_context: false,
      graphql_envelop_error_result: false,
      graphql_envelop_execute_resolver: false,
      graphql_envelop_phase_execute: false,
      graphql_envelop_phase_subscribe: false,
      graphql_envelop_schema_change: false,
      graphql_yoga_http_duration: false,
    },
  });
}
