import { describe, expect, it } from 'vitest';
import {
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  SelectorError,
} from '../../apiserver/selectors.js';

describe('label selectors', () => {
  it('parses every supported form', () => {
    expect(parseLabelSelector('a, !b.io/c ,d=e,f==g,h!=i')).toEqual([
      { op: 'exists', key: 'a' },
      { op: 'notExists', key: 'b.io/c' },
      { op: 'eq', key: 'd', value: 'e' },
      { op: 'eq', key: 'f', value: 'g' },
      { op: 'neq', key: 'h', value: 'i' },
    ]);
    expect(parseLabelSelector('')).toEqual([]);
  });

  it('rejects what it does not support', () => {
    expect(() => parseLabelSelector('env in (a,b)')).toThrow(SelectorError);
    expect(() => parseLabelSelector('bad key=x')).toThrow(SelectorError);
  });

  it('matches like the apiserver, kube-proxy selectors included', () => {
    const kp = parseLabelSelector('!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless');
    expect(matchesLabels(kp, undefined)).toBe(true);
    expect(matchesLabels(kp, { 'kubernetes.io/service-name': 'x' })).toBe(true);
    expect(matchesLabels(kp, { 'service.kubernetes.io/headless': '' })).toBe(false);
    expect(matchesLabels(kp, { 'service.kubernetes.io/service-proxy-name': 'other' })).toBe(false);
    expect(matchesLabels(parseLabelSelector('a'), { a: '' })).toBe(true);
    expect(matchesLabels(parseLabelSelector('a=1'), { a: '2' })).toBe(false);
    // A missing label satisfies !=.
    expect(matchesLabels(parseLabelSelector('a!=1'), {})).toBe(true);
    expect(matchesLabels(parseLabelSelector('a!=1'), { a: '1' })).toBe(false);
  });
});

describe('field selectors', () => {
  it('supports metadata.name and metadata.namespace equality', () => {
    const f = parseFieldSelector('metadata.name=node-a');
    expect(matchesFields(f, { name: 'node-a' })).toBe(true);
    expect(matchesFields(f, { name: 'node-b' })).toBe(false);
    expect(matchesFields(parseFieldSelector('metadata.namespace!=kube-system'), { namespace: 'default' })).toBe(true);
    expect(() => parseFieldSelector('spec.nodeName=x')).toThrow(SelectorError);
  });
});
