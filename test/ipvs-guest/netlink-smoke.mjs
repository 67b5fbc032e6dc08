// Guest check for the IPVS netlink client: run as root in the IPVS-capable test VM.
//
//   npx tsc -p /work/main            # on the host
//   /work/shared/kvm/run -- node test/ipvs-guest/netlink-smoke.mjs
//
// IPVS_CLIENT may point at another compiled client.js (e.g. a scratch build). Every change is
// made through IpvsClient and checked against `ipvsadm` (which uses its own netlink code), so
// the two independent implementations must agree. It refuses to run outside the VM unless
// IPVS_SMOKE_FORCE=1, because it changes the IPVS table and timeouts of the machine.

import { execFileSync } from 'node:child_process';
import { hostname } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';

if (hostname() !== 'kvm-run' && process.env.IPVS_SMOKE_FORCE !== '1') {
  console.error('refusing to modify IPVS outside the kvm-run guest (set IPVS_SMOKE_FORCE=1 to override)');
  process.exit(2);
}

const clientPath =
  process.env.IPVS_CLIENT ?? fileURLToPath(new URL('../../dist/modes/ipvs/netlink/client.js', import.meta.url));
const { IpvsClient } = await import(pathToFileURL(clientPath).href);

const t0 = performance.now();
const report = [];
let failures = 0;
function check(name, ok, detail = '') {
  report.push(`${ok ? 'PASS' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''}`);
  if (!ok) failures++;
}
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** `ipvsadm -Ln` as [{ key: "TCP 10.96.0.10:80", sched, persistent, dests: [{ addr, fwd, weight }] }]. */
function ipvsadmList() {
  const out = execFileSync('ipvsadm', ['-Ln'], { encoding: 'utf8' });
  const services = [];
  for (const line of out.split('\n')) {
    const svc = /^(TCP|UDP|SCTP)\s+(\S+)\s+(\S+)(?:\s+persistent\s+(\d+))?/.exec(line);
    if (svc) {
      services.push({ key: `${svc[1]} ${svc[2]}`, sched: svc[3], persistent: svc[4] ? Number(svc[4]) : 0, dests: [] });
      continue;
    }
    const dest = /^\s+->\s+(\S+)\s+(\w+)\s+(\d+)/.exec(line);
    if (dest && services.length) services.at(-1).dests.push({ addr: dest[1], fwd: dest[2], weight: Number(dest[3]) });
  }
  return services;
}

const hostPort = (address, port) => (address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`);
const viewOfClient = async (client) => {
  const services = await client.listServices();
  const view = [];
  for (const vs of services) {
    const dests = await client.listDestinations(vs);
    view.push({
      key: `${vs.protocol} ${hostPort(vs.address, vs.port)}`,
      sched: vs.scheduler,
      persistent: vs.flags & 1 ? vs.timeoutSeconds : 0,
      dests: dests
        .map((d) => ({ addr: hostPort(d.address, d.port), fwd: d.fwdMethod, weight: d.weight }))
        .sort((a, b) => a.addr.localeCompare(b.addr)),
    });
  }
  return view.sort((a, b) => a.key.localeCompare(b.key));
};
const viewOfIpvsadm = () =>
  ipvsadmList()
    .map((s) => ({ ...s, dests: s.dests.sort((a, b) => a.addr.localeCompare(b.addr)) }))
    .sort((a, b) => a.key.localeCompare(b.key));

async function agree(client, label, expectedServices) {
  const mine = await viewOfClient(client);
  const theirs = viewOfIpvsadm();
  check(`${label}: client list == ipvsadm -Ln`, same(mine, theirs), same(mine, theirs) ? '' : `client=${JSON.stringify(mine)} ipvsadm=${JSON.stringify(theirs)}`);
  check(`${label}: ${expectedServices} service(s)`, mine.length === expectedServices, `got ${mine.length}`);
  return mine;
}

const tOpen = performance.now();
const client = await IpvsClient.open();
check('open + resolve IPVS family', client.family > 0, `family id ${client.family}, ${(performance.now() - tOpen).toFixed(1)} ms`);

const info = await client.getInfo();
check('getInfo', /^\d+\.\d+\.\d+$/.test(info.version), `version ${info.version}, conn table ${info.connTableSize}`);
check('empty table at start', (await client.listServices()).length === 0);

const vs4 = { family: 'IPv4', protocol: 'TCP', address: '10.96.0.10', port: 80, scheduler: 'rr', flags: 0, timeoutSeconds: 0, netmask: 0xffffffff };
const vs6 = { family: 'IPv6', protocol: 'UDP', address: 'fd00::10', port: 53, scheduler: 'rr', flags: 0, timeoutSeconds: 0, netmask: 128 };
const rsA = { address: '10.244.1.2', port: 8080, weight: 1, fwdMethod: 'Masq' };
const rsB = { address: '10.244.2.3', port: 8080, weight: 2, fwdMethod: 'Masq' };
const rs6 = { address: 'fd00::1:2', port: 5353, weight: 1, fwdMethod: 'Masq' };

const tOps = performance.now();
await client.addService(vs4);
await client.addDestination(vs4, rsA);
await client.addDestination(vs4, rsB);
await client.addService(vs6);
await client.addDestination(vs6, rs6);
const addMs = performance.now() - tOps;
let view = await agree(client, 'after add', 2);
check('dest weights as added', same(view.find((s) => s.key === 'TCP 10.96.0.10:80')?.dests.map((d) => d.weight), [1, 2]));
check('IPv6 service and dest round-trip', view.some((s) => s.key === 'UDP [fd00::10]:53' && s.dests[0]?.addr === '[fd00::1:2]:5353'));
check('listServices returns full fields', same((await client.listServices()).find((s) => s.family === 'IPv4'), vs4));

await client.updateDestination(vs4, { ...rsA, weight: 5 });
view = await agree(client, 'after weight update', 2);
check('weight updated to 5', view.find((s) => s.key === 'TCP 10.96.0.10:80')?.dests.find((d) => d.addr === '10.244.1.2:8080')?.weight === 5);

await client.updateService({ ...vs4, scheduler: 'wrr', flags: 1, timeoutSeconds: 180 });
view = await agree(client, 'after service update', 2);
check('scheduler wrr + persistent 180', view.some((s) => s.key === 'TCP 10.96.0.10:80' && s.sched === 'wrr' && s.persistent === 180));

try {
  await client.addService(vs4);
  check('duplicate addService fails', false, 'no error');
} catch (e) {
  check('duplicate addService fails with EEXIST', e.code === 'EEXIST', e.message);
}
try {
  await client.deleteDestination(vs4, { address: '10.244.9.9', port: 1 });
  check('deleting a missing destination fails', false, 'no error');
} catch (e) {
  check('deleting a missing destination fails with ENOENT', e.code === 'ENOENT', e.message);
}

const before = await client.getTimeouts();
await client.setTimeouts({ tcp: 1000, tcpFin: 60, udp: 30 });
const after = await client.getTimeouts();
const adm = execFileSync('ipvsadm', ['-L', '--timeout'], { encoding: 'utf8' }).trim();
check('setTimeouts/getTimeouts', same(after, { tcp: 1000, tcpFin: 60, udp: 30 }), `before ${JSON.stringify(before)}, after ${JSON.stringify(after)}`);
check('ipvsadm --timeout agrees', adm.includes('1000 60 30'), adm);
await client.setTimeouts(before);
check('timeouts restored', same(await client.getTimeouts(), before));

const tDel = performance.now();
await client.deleteDestination(vs4, rsB);
view = await agree(client, 'after dest delete', 2);
check('one dest left on IPv4 service', view.find((s) => s.key === 'TCP 10.96.0.10:80')?.dests.length === 1);
await client.deleteService(vs4);
await client.deleteService(vs6);
const delMs = performance.now() - tDel;
await agree(client, 'after service delete', 0);
check('operations counter', client.operations === 14, `operations=${client.operations}`);

// A dump bigger than one netlink datagram, to exercise NLM_F_MULTI across recvmsg calls.
const BULK = 300; // ~250 bytes each: well over the 32 KiB cap of one dump datagram
const bulk = Array.from({ length: BULK }, (_, i) => ({ ...vs4, address: `10.97.${i >> 8}.${i & 255}` }));
const tBulk = performance.now();
for (const s of bulk) await client.addService(s);
const bulkAddMs = performance.now() - tBulk;
const tDump = performance.now();
const listed = await client.listServices();
const dumpMs = performance.now() - tDump;
check(`multi-datagram dump of ${BULK} services`, listed.length === BULK && same(listed.map((s) => s.address).sort(), bulk.map((s) => s.address).sort()), `${listed.length} listed in ${dumpMs.toFixed(1)} ms`);
check(`ipvsadm sees ${BULK} services`, ipvsadmList().length === BULK);
for (const s of bulk) await client.deleteService(s);
check('bulk services removed', (await client.listServices()).length === 0, `add ${(bulkAddMs / BULK).toFixed(2)} ms/service`);
client.close();

console.log(report.join('\n'));
console.log(
  `timing: 5 adds ${addMs.toFixed(1)} ms, deletes+checks ${delMs.toFixed(1)} ms, total ${(performance.now() - t0).toFixed(0)} ms`,
);
console.log(failures === 0 ? `netlink-smoke: all ${report.length} checks passed` : `netlink-smoke: ${failures} FAILED`);
process.exit(failures === 0 ? 0 : 1);
