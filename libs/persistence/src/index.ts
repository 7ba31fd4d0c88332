export { DataDirError, FileJournal, JournalDamagedError } from './journal';
export type { JournalOptions, OpenedJournal } from './journal';
export { AppendLog, BATCH_SYNC_INTERVAL_MS } from './append-log';
export type { FsyncPolicy } from './append-log';
export { replay } from './store-change';
export type { StoreChange } from './store-change';
export { encodeRecord, decodeRecords } from './record-codec';
