/**
 * What the ClickHouse server behind a backend can do. The base schema keeps
 * to ClickHouse 18.16 (Debian's package); newer servers, and chDB always,
 * switch on LowCardinality, codecs and skip indexes.
 */

export interface Capabilities {
  version: string;
  lowCardinality: boolean;
  codecs: boolean;
  skipIndexes: boolean;
  /** `non_replicated_deduplication_window` for idempotent replays on plain MergeTree. */
  nonReplicatedDedup: boolean;
  /** MergeTree `fsync_after_insert` / `fsync_part_directory`. */
  fsyncSettings: boolean;
  /**
   * Server-side `{name:Type}` query parameters (HTTP `param_*`). They came
   * with the 19.x series; we rely on them from 20.3 LTS on, conservatively.
   * Below that the cluster backend binds client-side (tested on 18.16).
   */
  queryParameters: boolean;
  /** JSON functions with `JSONExtractKeys` (21.11 on), for the `| json` prefilter. */
  jsonFunctions: boolean;
}

export function capabilitiesFor(version: string): Capabilities {
  const [major = 0, minor = 0] = version.split('.').map((n) => Number.parseInt(n, 10));
  const atLeast = (ma: number, mi: number): boolean => major > ma || (major === ma && minor >= mi);
  return {
    version,
    lowCardinality: atLeast(19, 3),
    codecs: atLeast(19, 11),
    skipIndexes: atLeast(19, 6),
    nonReplicatedDedup: atLeast(21, 9),
    fsyncSettings: atLeast(21, 1),
    queryParameters: atLeast(20, 3),
    jsonFunctions: atLeast(21, 11),
  };
}
