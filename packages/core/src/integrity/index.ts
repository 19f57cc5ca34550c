/** Integrity: the pure parts shared by the server's ledger and the offline verifier. */
export * from './merkle.js';
export * from './ledger-leaf.js';
export * from './checkpoint.js';
export * from './bundle.js';
export * from './verify-bundle.js';
