/**
 * @meshlog/store: the ClickHouse store, embedded (chDB) or clustered. Only
 * the server depends on it; the agent never does.
 */
export * from './backend.js';
export { ChdbBackend, type ChdbBackendOptions } from './embedded/chdb-backend.js';
export { ClickHouseBackend, type ClickHouseBackendOptions, type ClickHouseTls } from './cluster/clickhouse-backend.js';
export { clusterDeployment } from './cluster/cluster-deployment.js';
export { openEmbeddedStore, type EncryptionSetting, type EncryptionStatus, type OpenEmbeddedStoreOptions } from './embedded/open-embedded-store.js';
export {
  StorageEncryptionError,
  StorageKeySet,
  DEFAULT_KEY_ENV,
  parseStorageKeys,
  readKeyFile,
  readKeyEnv,
  createKeyFile,
  rotateKeyFile,
  defaultKeyFilePath,
  generateKeyHex,
  formatKeyLine,
  keyFingerprint,
  type StorageEncryptionErrorCode,
} from './embedded/encryption.js';
export { STORAGE_MARKER_FILE, inspectDataDir, type StorageMarker, type DataDirState } from './embedded/storage-marker.js';
export { ENCRYPTED_STORAGE_POLICY, ENCRYPTED_DISK } from './embedded/chdb-config.js';
export { LogStore, type LogRow, type SpanRow, type ReadLimits } from './log-store.js';
export { capabilitiesFor, type Capabilities } from './schema/capabilities.js';
export { MIGRATIONS, embeddedDeployment, type Deployment, type TableSpec, type SchemaStep } from './schema/migrations.js';
export { storeSink, STORE_SERVICE } from './sink/store-sink.js';
export * from './query/log-select.js';
export { TenantReader, AUDIT_STREAM_LABEL, AUDIT_STREAM_VALUE, type ReadScope, type ReaderScan, type RowMasker } from './query/tenant-reader.js';
export * from './query/index-select.js';
export { IngestWal, type IngestWalOptions, type WalApplyTarget, type WalAppend, type WalStats } from './wal/ingest-wal.js';
export { encodeGroup, decodeGroup, type WalBatch, type WalGroup, type WalKeys } from './wal/wal-format.js';
export * from './retention/index.js';
export { ApprovalCatalog, type Approval, type ApprovalStatus } from './approvals/approval-catalog.js';
export { IntegrityLedger, type LedgerOptions, type LedgerEntry } from './integrity/ledger.js';
export { buildBundle, type ExportWindow } from './integrity/export.js';
export { canonicalRow, LOG_COLUMNS, SPAN_COLUMNS } from './rows.js';
