/**
 * Pipeline metrics in the Prometheus data model (prom-client), named after
 * Vector's component metrics so dashboards read the same: records received,
 * sent and discarded (by reason and tenant), errors, and queue depth, all
 * labelled with the component id, kind and type.
 */
import { Counter, Gauge, Registry } from 'prom-client';

export interface ComponentMetrics {
  received(records: number, bytes?: number): void;
  sent(records: number): void;
  discarded(records: number, reason: string, tenant: string): void;
  error(errorType: string): void;
  queueDepth(records: number): void;
  /**
   * A component's own counter (`meshlog_<name>`), labelled with the
   * component's labels plus `labelNames`: what the generic counters above
   * cannot say (redactions per detector, damaged buffer bytes, truncated
   * lines). Optional so that test doubles need not implement it.
   */
  counter?(name: string, help: string, labelNames?: readonly string[]): (labels?: Record<string, string>, value?: number) => void;
  /** A component's own gauge (`meshlog_<name>`), like `counter`. */
  gauge?(name: string, help: string, labelNames?: readonly string[]): (value: number, labels?: Record<string, string>) => void;
}

const OWN_LABELS = ['component_id', 'component_kind', 'component_type'] as const;

export class PipelineMetrics {
  readonly registry: Registry;
  private readonly receivedRecords: Counter;
  private readonly receivedBytes: Counter;
  private readonly sentRecords: Counter;
  private readonly discardedRecords: Counter;
  private readonly errors: Counter;
  private readonly queued: Gauge;
  /** Component-owned metrics by full name; one family shared by every component that asks for it. */
  private readonly own = new Map<string, Counter | Gauge>();

  constructor(registry = new Registry()) {
    this.registry = registry;
    const labelNames = ['component_id', 'component_kind', 'component_type'] as const;
    this.receivedRecords = new Counter({ name: 'meshlog_component_received_records_total', help: 'Records a component accepted.', labelNames, registers: [registry] });
    this.receivedBytes = new Counter({ name: 'meshlog_component_received_bytes_total', help: 'Payload bytes a component accepted.', labelNames, registers: [registry] });
    this.sentRecords = new Counter({ name: 'meshlog_component_sent_records_total', help: 'Records a component passed on (sources, transforms) or made durable (sinks).', labelNames, registers: [registry] });
    this.discardedRecords = new Counter({ name: 'meshlog_component_discarded_records_total', help: 'Records discarded, by reason and tenant.', labelNames: [...labelNames, 'reason', 'tenant'], registers: [registry] });
    this.errors = new Counter({ name: 'meshlog_component_errors_total', help: 'Errors by type.', labelNames: [...labelNames, 'error_type'], registers: [registry] });
    this.queued = new Gauge({ name: 'meshlog_component_queued_records', help: 'Records waiting in a sink queue.', labelNames, registers: [registry] });
  }

  forComponent(id: string, kind: string, type: string): ComponentMetrics {
    const labels = { component_id: id, component_kind: kind, component_type: type };
    return {
      received: (records, bytes) => {
        this.receivedRecords.inc(labels, records);
        if (bytes !== undefined) this.receivedBytes.inc(labels, bytes);
      },
      sent: (records) => this.sentRecords.inc(labels, records),
      discarded: (records, reason, tenant) => this.discardedRecords.inc({ ...labels, reason, tenant }, records),
      error: (errorType) => this.errors.inc({ ...labels, error_type: errorType }),
      queueDepth: (records) => this.queued.set(labels, records),
      counter: (name, help, labelNames = []) => {
        const c = this.ownMetric(`meshlog_${name}`, () => new Counter({ name: `meshlog_${name}`, help, labelNames: [...OWN_LABELS, ...labelNames], registers: [this.registry] }));
        if (!(c instanceof Counter)) throw new Error(`metric meshlog_${name} is already a gauge`);
        return (extra = {}, value = 1) => c.inc({ ...labels, ...extra }, value);
      },
      gauge: (name, help, labelNames = []) => {
        const g = this.ownMetric(`meshlog_${name}`, () => new Gauge({ name: `meshlog_${name}`, help, labelNames: [...OWN_LABELS, ...labelNames], registers: [this.registry] }));
        if (!(g instanceof Gauge)) throw new Error(`metric meshlog_${name} is already a counter`);
        return (value, extra = {}) => g.set({ ...labels, ...extra }, value);
      },
    };
  }

  private ownMetric(name: string, make: () => Counter | Gauge): Counter | Gauge {
    let m = this.own.get(name);
    if (!m) {
      m = make();
      this.own.set(name, m);
    }
    return m;
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }
}
