import type { NewEvent } from '../../events/types.js';
import { EVENT_SOURCE } from '../event-source.js';
import { toSnapshot, type Component } from './model.js';

export const ComponentEventType = {
  REGISTERED: 'component.registered',
  UNREGISTERED: 'component.unregistered',
} as const;

export function componentRegisteredEvent(component: Component, created: boolean): NewEvent {
  return {
    type: ComponentEventType.REGISTERED,
    source: EVENT_SOURCE,
    data: { id: component.id, name: component.name, version: component.version, type: component.type, created, component: toSnapshot(component) },
  };
}

export function componentUnregisteredEvent(component: Component): NewEvent {
  return {
    type: ComponentEventType.UNREGISTERED,
    source: EVENT_SOURCE,
    data: { id: component.id, name: component.name, version: component.version, type: component.type, component: toSnapshot(component) },
  };
}
