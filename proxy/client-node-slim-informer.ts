// Stand-in for client-node's informer.js when imported by its cache.js (see client-node-slim.ts):
// the event names cache.js imports. The real informer.js imports cache.js back, i.e. the real
// cache.js, whose serializer import loads every generated model; the values are checked against
// the real module in test/unit/watch/client-node-slim.test.ts.
export const ADD = 'add';
export const UPDATE = 'update';
export const CHANGE = 'change';
export const DELETE = 'delete';
export const CONNECT = 'connect';
export const ERROR = 'error';
