/** Configuration: versioned values per key and environment, with global fallback and live watches. */
export {
  setConfig,
  deleteConfig,
  deleteConfigTree,
  rollbackConfig,
  type ConfigWriteOptions,
  type SetConfigInput,
  type DeleteConfigInput,
  type DeleteConfigTreeInput,
  type RollbackConfigInput,
} from './write.js';
export { ConfigWriter } from './writer.js';
export { countConfigEntries, getConfig, listConfigs, getConfigHistory, HISTORY_PAGE_DEFAULT as CONFIG_HISTORY_PAGE_DEFAULT } from './read.js';
export { watchConfig, toConfigChange, type ConfigChange, type ConfigWatch } from './changes.js';
export { redact } from './model.js';
export type { ConfigEntry, ConfigVersion } from './model.js';
