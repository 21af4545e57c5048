export const TS_CACHE: string;
export function transpileTree(): { total: number; written: number };
