/**
 * The lifecycle every HTTP ingest source shares: on start, mount its routes
 * on the role's HTTP ingest host (which authenticates, sets the tenant and
 * decompresses); on stop, unmount them, after which they answer 503. Stop is
 * idempotent and safe before start. A source supplies only its routes.
 */
import { HTTP_INGEST_SERVICE, type BuildContext, type HttpIngestHost, type IngestRoute, type Source } from '@meshlog/core';

export abstract class HttpMountedSource implements Source {
  readonly kind = 'source' as const;
  private mounted = false;

  protected constructor(
    protected readonly ctx: BuildContext,
    /** For the error when the role has no HTTP listener: "OTLP/HTTP", "Zipkin", ... */
    private readonly protocol: string,
  ) {}

  /** The routes to mount; called once, at start. */
  protected abstract routes(): IngestRoute[];

  async start(): Promise<void> {
    const host = this.ctx.services.get<HttpIngestHost>(HTTP_INGEST_SERVICE);
    if (!host) throw new Error(`source ${this.ctx.id}: this role offers no HTTP listener for ${this.protocol}`);
    host.mount(this.ctx.id, this.routes());
    this.mounted = true;
  }

  async stop(): Promise<void> {
    if (!this.mounted) return;
    this.mounted = false;
    this.ctx.services.get<HttpIngestHost>(HTTP_INGEST_SERVICE)?.unmount(this.ctx.id);
  }
}
