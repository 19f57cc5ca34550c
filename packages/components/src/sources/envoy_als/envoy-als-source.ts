/**
 * The `envoy_als` source: Envoy's gRPC access log service
 * (`envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs`) on the
 * host's gRPC listener. Envoy opens a client stream per access logger and
 * sends batches of HTTP or TCP entries on it for as long as it runs; the
 * single response comes only when the stream ends, so there is no
 * per-message acknowledgement and Envoy never resends a message (ALS is
 * lossy by design).
 *
 * So each message is decoded and emitted as it arrives, with a small window
 * of messages awaiting durability; the next one is read only when the
 * window has room: a slow pipeline holds Envoy through HTTP/2 flow control
 * instead of buffering here. The stream ends
 * with OK when Envoy closes it and every message was stored; with
 * INVALID_ARGUMENT at the first undecodable message (records of earlier
 * messages stay stored: they were durable before the bad one was read); with
 * UNAVAILABLE (and a retry delay) when the pipeline could not take a
 * message in `max_wait_ms`, whose records are then counted as discarded,
 * since Envoy will not send them again.
 *
 * Envoy authenticates like every gRPC client here: its gRPC service config
 * sets `initial_metadata` `authorization: Bearer <token>`. Envoys that cannot
 * (Istio's mesh-wide ALS settings carry no metadata) need the dangerous
 * `insecure_unauthenticated_tenant` opt-out until mTLS identities arrive.
 */
import {
  DiscardReason,
  GRPC_INGEST_SERVICE,
  GrpcIngestError,
  GrpcStatus,
  PipelineError,
  nowUnixNano,
  type BuildContext,
  type ComponentDefinition,
  type GrpcCall,
  type GrpcIngestHost,
  type LogRecord,
  type Source,
} from '@meshlog/core';
import { EnvoyAlsSourceConfigSchema, type EnvoyAlsSourceConfig } from './config.js';
import { AlsDecodeError, AlsStreamDecoder } from './als-decode.js';
import { ALS_METHOD, ALS_SERVICE, encodeAlsResponse } from './als-proto.js';

export const envoyAlsSource: ComponentDefinition<EnvoyAlsSourceConfig> = {
  kind: 'source',
  type: 'envoy_als',
  description: "Envoy's gRPC access log service (StreamAccessLogs: HTTP and TCP entries) on the gRPC listener",
  schema: EnvoyAlsSourceConfigSchema,
  build: (config, ctx) => new EnvoyAlsSource(config, ctx),
};

class EnvoyAlsSource implements Source {
  readonly kind = 'source' as const;
  private registered = false;

  constructor(
    private readonly config: EnvoyAlsSourceConfig,
    private readonly ctx: BuildContext,
  ) {}

  async start(): Promise<void> {
    const host = this.ctx.services.get<GrpcIngestHost>(GRPC_INGEST_SERVICE);
    if (!host) throw new Error(`source ${this.ctx.id}: this role offers no gRPC listener for Envoy ALS (is server.grpc_port 0?)`);
    host.register(this.ctx.id, [
      {
        name: ALS_SERVICE,
        permission: 'ingest',
        methods: [{ type: 'client_stream', name: ALS_METHOD, handler: (messages, call) => this.stream(messages, call) }],
        ...(this.config.insecure_unauthenticated_tenant !== undefined ? { insecureUnauthenticatedTenant: this.config.insecure_unauthenticated_tenant } : {}),
      },
    ]);
    this.registered = true;
  }

  async stop(): Promise<void> {
    if (!this.registered) return;
    this.registered = false;
    this.ctx.services.get<GrpcIngestHost>(GRPC_INGEST_SERVICE)?.unregister(this.ctx.id);
  }

  /**
   * One Envoy stream. Messages are emitted in arrival order with at most
   * `max_in_flight_messages` awaiting durability at once (a stream's
   * throughput is otherwise one message per store commit); the next message
   * is read only when the window has room, which is the backpressure. On the
   * first failure reading stops, the messages already in flight settle, and
   * then the stream ends with the failure's status.
   */
  async stream(messages: AsyncIterable<Buffer>, call: GrpcCall): Promise<Buffer> {
    const decoder = new AlsStreamDecoder();
    const inFlight = new Set<Promise<void>>();
    let failure: GrpcIngestError | undefined;
    try {
      for await (const bytes of messages) {
        let records;
        try {
          ({ records } = decoder.decode(bytes, nowUnixNano()));
        } catch (err) {
          if (!(err instanceof AlsDecodeError)) throw err;
          this.ctx.metrics.error('decode_failed');
          failure = new GrpcIngestError(GrpcStatus.INVALID_ARGUMENT, err.message);
          break;
        }
        this.ctx.metrics.received(records.length, bytes.length);
        // An earlier message failed meanwhile: the stream is over, this one is not taken.
        if (failure) break;
        if (records.length === 0) continue;
        const pending: Promise<void> = this.emit(records, call.tenant).then(
          () => void inFlight.delete(pending),
          (err: unknown) => {
            inFlight.delete(pending);
            failure ??= err instanceof GrpcIngestError ? err : new GrpcIngestError(GrpcStatus.INTERNAL, 'internal error');
            if (!(err instanceof GrpcIngestError)) this.ctx.logger.error('ALS emit failed', { error: (err as Error).message });
          },
        );
        inFlight.add(pending);
        if (inFlight.size >= this.config.max_in_flight_messages) await Promise.race(inFlight);
        if (failure) break;
      }
    } finally {
      // Whatever was handed to the pipeline settles before the stream's status goes out.
      await Promise.all(inFlight);
    }
    if (failure) throw failure;
    return encodeAlsResponse();
  }

  /** One message's records; rejects with the GrpcIngestError that ends the stream. */
  private async emit(records: LogRecord[], tenant: string): Promise<void> {
    try {
      // No idempotency key: Envoy never resends a message, so there is no retry to
      // recognise, and two identical messages are two events.
      await this.ctx.emit({ kind: 'logs', tenant, source: this.ctx.id, records }, { maxWaitMs: this.config.max_wait_ms });
    } catch (err) {
      if (!(err instanceof PipelineError)) throw err;
      // The sink queue already counted records it gave up on (delivery_failed); what it
      // never took is counted here, because Envoy will not send it again.
      if (err.reason === DiscardReason.QueueFull) this.ctx.metrics.discarded(records.length, DiscardReason.QueueFull, tenant);
      else if (err.reason === 'not_running' || err.reason === 'shutting_down') this.ctx.metrics.discarded(records.length, DiscardReason.Shutdown, tenant);
      if (!err.retryable) throw new GrpcIngestError(GrpcStatus.INVALID_ARGUMENT, err.message);
      throw new GrpcIngestError(GrpcStatus.UNAVAILABLE, `${err.message}; reconnect to resume streaming`, { retryAfterMs: err.retryAfterMs ?? 1000 });
    }
  }
}
