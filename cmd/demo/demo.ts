// Placeholder replaced once the domain kinds land.
export const runDemo = (_options: { dataDir: string }, _io: { out(l: string): void; err(l: string): void }): Promise<number> => Promise.resolve(1);
