// Stand-in for client-node's serializer.js when imported by its cache.js (see client-node-slim.ts).
// ListWatch only serializes its label and field selectors as 'string', which the real serializer
// returns unchanged; anything else would be a new use this stand-in does not cover, so it throws.
export const ObjectSerializer = {
  serialize(data: unknown, type: string): unknown {
    if (type === 'string') return data;
    throw new Error(`client-node-slim: ObjectSerializer.serialize(${type}) is not available in the daemon`);
  },
  deserialize(_data: unknown, type: string): unknown {
    throw new Error(`client-node-slim: ObjectSerializer.deserialize(${type}) is not available in the daemon`);
  },
};
