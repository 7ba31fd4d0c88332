export { VersionedStore } from './versioned-store';
export type { ListQuery, ListPage, PageBudget, StoreView } from './versioned-store';
export { compareUtf8 } from './utf8-order';
export { isLive } from './entry';
export type { Entry, LiveEntry, Tombstone, JsonValue } from './entry';
