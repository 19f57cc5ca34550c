/** Retention: policies, legal holds, enforcement, deletion records. See ./README.md. */
export * from './model.js';
export { rulesForTenant, compareSpecificity, cutoffNs, ruleFor, selectorMatches, type RetentionRule } from './rules.js';
export { triagePartitions, planDeletions, type PartitionInfo, type HoldScope, type RowClass, type RetentionPlan, type PartitionPlan, type PlannedDeletion } from './planner.js';
export { RetentionCatalog, publicHold, type PolicyInput, type HoldInput, type StoredHold } from './catalog.js';
export { RetentionEnforcer, type EnforcementResult, type HeldSummary, type EnforcementError } from './enforcer.js';
export { RetentionService, CONFIG_ACTOR, policyIdOf, type ConfiguredPolicy, type RetentionServiceOptions } from './service.js';
export { RetentionScheduler, type RetentionSchedulerOptions, type RetentionSchedulerStats } from './scheduler.js';
export { LOGS_TABLE, SPANS_TABLE, listPartitionsSql, classifySql, deleteRowsSql, dropPartitionSql, type RetentionTable } from './retention-sql.js';
