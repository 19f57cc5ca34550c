export * from './log-record.js';
export * from './stream-labels.js';
export * from './severity.js';
