// The parts of splunk-logging (Splunk's Node.js HEC library, plain JS) the e2e suite uses.
declare module 'splunk-logging' {
  export interface SplunkLoggerConfig {
    token: string;
    url?: string;
    maxBatchCount?: number;
    maxBatchSize?: number;
    batchInterval?: number;
    maxRetries?: number;
    path?: string;
  }
  export interface SplunkPayload {
    message: unknown;
    severity?: string;
    metadata?: { time?: number; host?: string; source?: string; sourcetype?: string; index?: string };
  }
  export type Callback = (err: Error | null, resp: { statusCode: number } | undefined, body: unknown) => void;
  export class Logger {
    constructor(config: SplunkLoggerConfig);
    error: (err: Error, context: unknown) => void;
    send(payload: SplunkPayload, callback?: Callback): void;
    flush(callback?: Callback): void;
  }
  const splunkLogging: { Logger: typeof Logger };
  export default splunkLogging;
}
