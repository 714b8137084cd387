/** Full path of the bundled veclite.so. */
export declare function getLoadablePath(): string;
/** Load veclite into a better-sqlite3 Database or a node:sqlite DatabaseSync opened with { allowExtension: true }. */
export declare function load(db: { loadExtension(file: string): unknown }): void;
