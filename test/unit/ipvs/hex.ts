// Test helper: golden byte layouts written as spaced hex, e.g. hex('0600 0100', '0200 0000').
export const hex = (...parts: string[]): Buffer => Buffer.from(parts.join('').replace(/\s+/g, ''), 'hex');
export const toHex = (b: Buffer): string => b.toString('hex');
