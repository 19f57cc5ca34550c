/**
 * Config of the `file` source: which files (globs), where to start, how
 * lines are cut (maximum size, multiline), how often to look, and the
 * rotation knobs. Validation is pure: globs and regexes are checked, no
 * file is touched.
 */
import { z } from 'zod';
import { regexProblem } from '../../normalize/safe-regex.js';

export const MultilineSchema = z
  .object({
    /** A line matching this starts a new record; other lines join the record before them (Java stack traces, Python tracebacks). */
    start_pattern: z.string().min(1).optional(),
    /** ... or: a line matching this joins the record before it; other lines start new records. */
    continuation_pattern: z.string().min(1).optional(),
    /** A record waiting for more lines is sent after this long without one. */
    timeout_ms: z.number().int().min(10).max(60_000).default(1000),
    /** A record is sent once it has this many lines ... */
    max_lines: z.number().int().min(2).max(100_000).default(500),
    /** ... or this many bytes. */
    max_bytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
    /** DANGEROUS: accept patterns that can backtrack catastrophically. */
    allow_backtracking_regex: z.boolean().default(false),
  })
  .strict()
  .superRefine((m, ctx) => {
    if ((m.start_pattern === undefined) === (m.continuation_pattern === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['start_pattern'], message: 'set exactly one of start_pattern and continuation_pattern' });
    }
    for (const key of ['start_pattern', 'continuation_pattern'] as const) {
      const src = m[key];
      if (src === undefined) continue;
      const problem = regexProblem(src, m.allow_backtracking_regex);
      if (problem) ctx.addIssue({ code: 'custom', path: [key], message: problem });
    }
  });
export type MultilineConfig = z.infer<typeof MultilineSchema>;

const GLOB = z
  .string()
  .min(1)
  .refine((g) => g.startsWith('/'), 'an absolute path or glob (e.g. /var/log/pods/*/*/*.log)');

export const FileSourceConfigSchema = z
  .object({
    /** Globs of files to tail (absolute). Include rotated names (app.log*) to follow rotations faster than poll_interval_ms. */
    include: z.array(GLOB).min(1),
    /** Globs of files never to tail. */
    exclude: z.array(GLOB).default([]),
    /** Files found at the first start without a checkpoint: read from the beginning or only what is written from now on. Files appearing later are always read from their beginning. */
    start_at: z.enum(['beginning', 'end']).default('end'),
    /** Read rotated files compressed with gzip (*.gz) that match include; off: *.gz files are skipped. */
    gzip: z.boolean().default(false),
    /** How often every open file is checked for new data (fs.watch wakes it sooner). */
    poll_interval_ms: z.number().int().min(10).max(60_000).default(250),
    /** How often the globs are expanded again to find new files. */
    glob_interval_ms: z.number().int().min(10).max(600_000).default(1000),
    /** A file is identified by device and inode plus a hash of its first this-many bytes (inode reuse, copies). */
    fingerprint_bytes: z.number().int().min(16).max(64 * 1024).default(256),
    /** Longer lines are cut to this (counted, `log.truncated: true`). */
    max_line_bytes: z.number().int().min(256).max(64 * 1024 * 1024).default(256 * 1024),
    /**
     * A batch goes downstream at this many lines ... Two batches per file are
     * in flight at once; small enough that their records die young (the GC
     * copies, then promotes, whatever is still alive when it runs: larger
     * batches cost more GC time and RSS), large enough that the disk buffer's
     * fsync per write stays cheap per line.
     */
    batch_max_records: z.number().int().min(1).max(1_000_000).default(2048),
    /** ... or this many bytes. */
    batch_max_bytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
    /** A file that has left its path (renamed out of the globs, deleted) is read to its end and closed after no growth for this long. */
    rotate_wait_ms: z.number().int().min(0).max(3_600_000).default(5000),
    /** A file whose path still points to it is closed after this long without growth, and reopened when it grows. */
    close_idle_ms: z.number().int().min(1000).max(86_400_000).default(300_000),
    /** Checkpoints of files gone longer than this are forgotten. */
    checkpoint_retention_ms: z.number().int().min(60_000).default(7 * 24 * 3600_000),
    multiline: MultilineSchema.optional(),
    /**
     * Container runtime logs split into pieces (CRI `P` lines under
     * /var/log/pods, Docker json-file 16 KiB splits) are joined here, before
     * the checkpoint, so a restart never loses acknowledged pieces of an
     * incomplete line (see container-pieces.ts).
     */
    container_format: z.enum(['none', 'cri', 'docker']).default('none'),
    /** Tenant of the batches (the server decides the tenant of what the agent forwards from its own credentials). */
    tenant: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'letters, digits, _ . - (at most 128)').default('default'),
  })
  .strict();
export type FileSourceConfig = z.infer<typeof FileSourceConfigSchema>;
