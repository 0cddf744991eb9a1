import { componentSchema, parseInput, type ComponentDependencyRecord, type ComponentInput } from '@switchboard/contracts';
import type { ComponentType } from './model.js';

export interface ComponentDefinition {
  id: string;
  type: ComponentType;
  name: string;
  version: string;
  description: string | null;
  dependencies: ComponentDependencyRecord[];
  dependencyNames: string[];
  metadata: Record<string, unknown>;
  flows: string[];
  provider: string | null;
}

export function parseComponentDefinition(input: ComponentInput): ComponentDefinition {
  const parsed = parseInput(componentSchema, input, 'component');
  const dependencies = parsed.dependencies ?? [];
  return {
    id: parsed.id,
    type: parsed.type,
    name: parsed.name,
    version: parsed.version,
    description: parsed.description ?? null,
    dependencies,
    dependencyNames: dependencies.map((dependency) => dependency.name),
    metadata: parsed.metadata,
    flows: parsed.flows ?? [],
    provider: parsed.provider ?? null,
  };
}
