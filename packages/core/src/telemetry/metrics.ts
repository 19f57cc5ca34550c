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
}

export class PipelineMetrics {
  readonly registry: Registry;
  private readonly receivedRecords: Counter;
  private readonly receivedBytes: Counter;
  private readonly sentRecords: Counter;
  private readonly discardedRecords: Counter;
  private readonly errors: Counter;
  private readonly queued: Gauge;

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
    };
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }
}
