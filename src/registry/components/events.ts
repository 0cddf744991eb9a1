import { ComponentEventType, EVENT_SOURCE } from '@switchboard/contracts';
import type { NewBuiltInEvent } from '../../events/types.js';
import { toSnapshot, type Component } from './model.js';

export function componentRegisteredEvent(component: Component, created: boolean): NewBuiltInEvent<'component.registered'> {
  return {
    type: ComponentEventType.REGISTERED,
    source: EVENT_SOURCE,
    data: { id: component.id, name: component.name, version: component.version, type: component.type, created, component: toSnapshot(component) },
  };
}

export function componentUnregisteredEvent(component: Component): NewBuiltInEvent<'component.unregistered'> {
  return {
    type: ComponentEventType.UNREGISTERED,
    source: EVENT_SOURCE,
    data: { id: component.id, name: component.name, version: component.version, type: component.type, component: toSnapshot(component) },
  };
}
