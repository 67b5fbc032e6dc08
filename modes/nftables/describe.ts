// Human-readable forms of programmed objects for `explain`: rules as a compact expression list
// close to `nft --debug=netlink`, elements as addresses/protocols/ports where their type says so.

import { formatIP, hex, readPort, readU32Host } from './bytes.js';
import { toElement } from './elements.js';
import type { Expr, NftElement, NftSet } from './netlink/types.js';
import type { Unit } from './ruleset.js';
import { TYPE_INTEGER } from './types-nft.js';

const FIELDS: Record<string, string> = {
  'network:12:4': 'ip saddr',
  'network:16:4': 'ip daddr',
  'network:8:16': 'ip6 saddr',
  'network:24:16': 'ip6 daddr',
  'transport:2:2': 'th dport',
};

export function exprText(e: Expr): string {
  switch (e.type) {
    case 'payload':
      return `load ${FIELDS[`${e.base}:${e.offset}:${e.len}`] ?? `${e.base}@${e.offset}/${e.len}`} => r${e.dreg}`;
    case 'meta':
      return `load meta ${e.key} => r${e.dreg}`;
    case 'meta-set':
      return `meta ${e.key} set r${e.sreg}`;
    case 'cmp':
      return `cmp r${e.sreg} ${e.op} ${e.data.length === 4 || e.data.length === 16 ? formatIP(e.data) : hex(e.data)}`;
    case 'bitwise':
      return `bitwise r${e.dreg} = (r${e.sreg} & 0x${hex(e.mask)}) ^ 0x${hex(e.xor)}`;
    case 'lookup':
      return `lookup r${e.sreg} ${e.invert ? 'not in' : 'in'} @${e.set}${e.dreg !== undefined ? ` => r${e.dreg}` : ''}`;
    case 'immediate':
      return `immediate r${e.dreg} = ${e.data.length === 2 ? readPort(e.data, 0) : formatIP(e.data)}`;
    case 'verdict':
      return e.verdict.chain !== undefined ? `${e.verdict.code} ${e.verdict.chain}` : e.verdict.code;
    case 'ct':
      return `load ct ${e.key} => r${e.dreg}`;
    case 'fib':
      return `fib ${e.flags.saddr ? 'saddr' : 'daddr'} ${e.result} => r${e.dreg}`;
    case 'nat':
      return `${e.nat} ${e.family} addr r${e.regAddrMin ?? '-'} port r${e.regProtoMin ?? '-'}`;
    case 'masq':
      return `masquerade${e.flags ? ` flags ${e.flags}` : ''}`;
    case 'numgen':
      return `numgen ${e.mode} mod ${e.modulus} => r${e.dreg}`;
    case 'reject':
      return `reject ${e.kind} ${e.code}`;
    case 'counter':
      return 'counter';
    case 'dynset':
      return `dynset ${e.op} @${e.set} key r${e.sregKey}${e.timeoutMs ? ` timeout ${e.timeoutMs / 1000}s` : ''}`;
    case 'notrack':
      return 'notrack';
  }
}

export function elementText(set: NftSet, e: NftElement): string {
  let key: string;
  if (set.keyType === TYPE_INTEGER) key = String(readU32Host(e.key));
  else key = keyFields(e.key, set).join(' . ');
  if (e.keyEnd) key += ` - ${keyFields(e.keyEnd, set).join(' . ')}`;
  const value = e.verdict
    ? `${e.verdict.code}${e.verdict.chain !== undefined ? ' ' + e.verdict.chain : ''}`
    : e.data
      ? `${formatIP(e.data.slice(0, e.data.length - 4))} . ${readPort(e.data, e.data.length - 4)}`
      : undefined;
  return value !== undefined ? `${key} : ${value}` : key;
}

const PROTO_NAMES: Record<number, string> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };

/** Split a concatenated key by its nft type (6 bits a field, 7/8 = address, 12 = proto, 13 = port). */
function keyFields(key: Uint8Array, set: NftSet): string[] {
  const types: number[] = [];
  for (let t = set.keyType; t > 0; t = Math.floor(t / 64)) types.unshift(t % 64);
  const out: string[] = [];
  let off = 0;
  for (const t of types) {
    if (t === 7) (out.push(formatIP(key.slice(off, off + 4))), (off += 4));
    else if (t === 8) (out.push(formatIP(key.slice(off, off + 16))), (off += 16));
    else if (t === 12) (out.push(PROTO_NAMES[key[off]!] ?? String(key[off])), (off += 4));
    else if (t === 13) (out.push(String(readPort(key, off))), (off += 4));
    else if (t === TYPE_INTEGER) (out.push(String(readU32Host(key.slice(off, off + 4)))), (off += 4));
    else (out.push(hex(key.slice(off, off + 4))), (off += 4));
  }
  return out;
}

export function describeUnit(u: Unit, sharedSets: { get(name: string): NftSet | undefined }): unknown {
  return {
    chains: Object.fromEntries(u.chains.map((c) => [c.name, c.rules.map((r) => (r.comment ? `# ${r.comment}: ` : '') + r.exprs.map(exprText).join('; '))])),
    maps: Object.fromEntries(
      u.sets.map((s) => [s.set.name, s.set.dynamic ? '(filled by the packet path)' : [...s.elements.values()].map((e) => elementText(s.set, e))]),
    ),
    sharedMapEntries: Object.fromEntries(
      [...u.shared].map(([name, els]) => {
        const set = sharedSets.get(name);
        return [name, [...els].map(([k, e]) => (set ? elementText(set, toElement(k, e.value, e.comment)) : k))];
      }),
    ),
  };
}
