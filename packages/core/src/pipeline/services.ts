/** A plain map of named services a role hands to its components. */
import type { ServiceLookup } from './component.js';

export class ServiceMap implements ServiceLookup {
  private readonly services = new Map<string, unknown>();

  set(name: string, service: unknown): this {
    this.services.set(name, service);
    return this;
  }

  get<T>(name: string): T | undefined {
    return this.services.get(name) as T | undefined;
  }
}
