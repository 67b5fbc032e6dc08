#!/usr/bin/env node
// Records what the kernel's own tools put on the wire, as golden fixtures for the nf_tables
// codec (test/unit/nftables): runs `nft -f RULESET` inside a throw-away network namespace under
// strace, keeps the one batch datagram nft sends (every message of it, in hex), then runs
// `nft list ruleset` under strace and keeps every request with the kernel's reply datagrams
// (the dumps the decoder must parse). Needs root, nft and strace.
//
//   node scripts/capture-nft-golden.mjs test/unit/nftables/fixtures/golden.nft \
//     > test/unit/nftables/fixtures/golden.json

import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const rulesetPath = process.argv[2];
if (!rulesetPath) {
  console.error('usage: capture-nft-golden.mjs RULESET.nft > FIXTURE.json');
  process.exit(2);
}
const ns = `kptnft-golden-${process.pid}`;

/** Parse `strace -e write=all -e read=all` output into syscalls with their data. */
function parseStrace(text) {
  const calls = [];
  let cur;
  for (const line of text.split('\n')) {
    const dump = /^ \| [0-9a-f]{5}  ((?:[0-9a-f]{2} {1,2}){1,16})/.exec(line);
    if (dump && cur) {
      cur.hex += dump[1].replace(/\s+/g, '');
      continue;
    }
    const call = /^(?:\[pid +\d+\] )?(sendmsg|sendto|recvmsg|recvfrom)\(/.exec(line);
    if (call) {
      cur = { call: call[1], hex: '', failed: / = -1 /.test(line) };
      calls.push(cur);
    }
  }
  return calls.filter((c) => !c.failed);
}

/** Split a datagram (hex) into its netlink messages (hex each). */
function splitMessages(hex) {
  const buf = Buffer.from(hex, 'hex');
  const out = [];
  let off = 0;
  while (off + 16 <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (len < 16 || off + len > buf.length) throw new Error(`bad message length ${len} at ${off}`);
    out.push(buf.subarray(off, off + len).toString('hex'));
    off += (len + 3) & ~3;
  }
  return out;
}

function traced(args, input) {
  const r = spawnSync(
    'ip',
    ['netns', 'exec', ns, 'strace', '-f', '-qq', '-e', 'trace=sendmsg,sendto,recvmsg,recvfrom', '-e', 'write=all', '-e', 'read=all', '-s', '0', ...args],
    { encoding: 'utf8', input, maxBuffer: 256 * 1024 * 1024 },
  );
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
  return parseStrace(r.stderr);
}

execFileSync('ip', ['netns', 'add', ns]);
try {
  const ruleset = readFileSync(rulesetPath, 'utf8');
  const load = traced(['nft', '-f', '-'], ruleset);
  // The batch is the datagram that starts with NFNL_MSG_BATCH_BEGIN (type 0x10).
  const batch = load.find((c) => (c.call === 'sendmsg' || c.call === 'sendto') && c.hex.slice(8, 12) === '1000');
  if (!batch) throw new Error('no batch found in the strace output');

  const list = traced(['nft', 'list', 'ruleset']);
  const exchanges = [];
  for (const c of list) {
    if (c.call === 'sendmsg' || c.call === 'sendto') exchanges.push({ request: splitMessages(c.hex), replies: [] });
    else if (exchanges.length) exchanges[exchanges.length - 1].replies.push(...splitMessages(c.hex));
  }
  const listing = execFileSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'ruleset'], { encoding: 'utf8' });
  const nftVersion = execFileSync('nft', ['--version'], { encoding: 'utf8' }).trim();
  const kernel = execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim();
  process.stdout.write(
    JSON.stringify({ tool: nftVersion, kernel, ruleset, batch: splitMessages(batch.hex), listing, exchanges }, null, 1) + '\n',
  );
} finally {
  execFileSync('ip', ['netns', 'del', ns]);
}
