// results.json -> RESULTS.md (tables of ratios against baselines from the same run, absolute
// numbers beside them, targets met/missed) and the PNG plots (gnuplot, pngcairo).
//
//   node bench/harness/report.mjs RESULTS_JSON [MD] [PLOT] [SOAK_PLOT]   (re-render a run)

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { CONTENDERS, WORKLOADS } from './contenders.mjs';
import { invalidReason } from './load.mjs';

const LABEL = Object.fromEntries(CONTENDERS.map((c) => [c.id, c.label]));
const PROXIES = ['nginx', 'zproxy', 'portkey'];
const COLORS = { floor: '#777777', nginx: '#2ca02c', zproxy: '#1f77b4', portkey: '#d62728' };

const f1 = (x) => (x == null || Number.isNaN(x) ? '–' : x.toFixed(1));
const f2 = (x) => (x == null || Number.isNaN(x) ? '–' : x.toFixed(2));
const int = (x) => (x == null ? '–' : Math.round(x).toLocaleString('en-US'));
const ms = (us) => (us == null ? null : us / 1000);
const mb = (kib) => (kib == null ? null : (kib * 1024) / 1e6);
const ratio = (a, b) => (a == null || b == null || b === 0 ? null : a / b);
const rx = (x) => (x == null ? '–' : `${x >= 10 ? x.toFixed(0) : x.toFixed(2)}×`);
const pct = (x) => (x == null ? '–' : `${Math.round(x * 100)} %`);
const dagger = (r) => (r && r.valid === false ? ' †' : '');

function find(results, wid, cid) {
  return results.load?.find((r) => r.workload === wid && r.contender === cid);
}

function atRate(results, wid, cid, rate) {
  const r = find(results, wid, cid);
  return r?.rates?.find((x) => x.rate === rate && !x.skipped) ?? null;
}

function table(head, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

// ---- targets ------------------------------------------------------------------------------

// `runs`: the measurements the verdict rests on; any invalid one (busy generator core) marks
// the verdict as untrustworthy.
function verdict(ok, runs = []) {
  if (ok == null) return 'not measured';
  const mark = runs.some((r) => r && r.valid === false) ? ' †' : '';
  return `${ok ? '**met**' : '**missed**'}${mark}`;
}

function targets(results) {
  const p = results.params;
  const rows = [];
  const H = p.headlineRate;
  const zs = atRate(results, 'api_short', 'zproxy', H);
  const ns = atRate(results, 'api_short', 'nginx', H);
  const cpuRatio = ratio(zs?.cpu_us_per_req, ns?.cpu_us_per_req);
  rows.push([
    `CPU per short non-streaming request ≤ 1.5× the nginx hop's (${H} req/s)`,
    zs && ns ? `${f1(zs.cpu_us_per_req)} µs vs ${f1(ns.cpu_us_per_req)} µs = ${rx(cpuRatio)}` : '–',
    verdict(cpuRatio == null ? null : cpuRatio <= 1.5, [zs, ns]),
  ]);
  const satZ = find(results, 'api_short', 'zproxy')?.saturation;
  const satN = find(results, 'api_short', 'nginx')?.saturation;
  const satP = find(results, 'api_short', 'portkey')?.saturation;
  const tn = ratio(satZ?.rps, satN?.rps);
  rows.push([
    'Throughput ≥ 0.7× the nginx hop (API non-streaming, saturation)',
    satZ && satN ? `${int(satZ.rps)} vs ${int(satN.rps)} req/s = ${rx(tn)}` : '–',
    verdict(tn == null ? null : tn >= 0.7 && satZ.errors === 0, [satZ, satN]),
  ]);
  const tp = ratio(satZ?.rps, satP?.rps);
  rows.push([
    'Throughput ≥ 20× Portkey (API non-streaming, saturation)',
    satZ && satP ? `${int(satZ.rps)} vs ${int(satP.rps)} req/s = ${rx(tp)}` : '–',
    verdict(tp == null ? null : tp >= 20, [satZ, satP]),
  ]);
  const T = p.targetRate;
  const parts = [];
  let okAdded = true;
  let any = false;
  const used = [];
  for (const wid of Object.keys(WORKLOADS)) {
    const z = atRate(results, wid, 'zproxy', T);
    const f = atRate(results, wid, 'floor', T);
    if (!z || !f) {
      okAdded = false;
      continue;
    }
    any = true;
    const added = ms(z.lat_us?.p99 - f.lat_us?.p99);
    parts.push(`${wid} ${added >= 0 ? '+' : ''}${f2(added)} ms (${z.errors_total} errors)`);
    okAdded &&= added <= 1 && z.errors_total === 0;
    used.push(z, f);
  }
  rows.push([`Added p99 ≤ 1 ms at ${int(T)} req/s, no errors`, parts.join('; ') || 'rate not run', verdict(any ? okAdded : null, used)]);
  const rss = (results.rss ?? []).filter((r) => r.contender === 'zproxy');
  const rssOk = rss.length > 0 && rss.every((r) => !r.error && r.load?.errors_total === 0 && mb(r.peak_hwm_kib) <= 50);
  rows.push([
    `Peak RSS ≤ 50 MB with ${int(p.streams)} concurrent streams`,
    rss.map((r) => `${WORKLOADS[r.workload].mode} ${r.error ? 'failed' : `${f1(mb(r.peak_hwm_kib))} MB`}`).join(', ') || '–',
    verdict(rss.length ? rssOk : null, rss.map((r) => r.load)),
  ]);
  const g = soakGrowth(results.soak);
  rows.push([
    `No RSS growth over the soak (${int(p.soakSeconds)} s)`,
    g ? `${g.growth >= 0 ? '+' : ''}${f2(g.growth)} MB (${f1(g.first)} → ${f1(g.last)} MB), ${results.soak.load.errors_total} errors` : '–',
    verdict(g ? g.growth <= 1 && results.soak.load.errors_total === 0 : null, [results.soak?.load]),
  ]);
  const nat = results.core?.native;
  const was = results.core?.wasm;
  rows.push([
    'Core translation ≥ 200 MB/s native',
    nat ? `guest ${f1(nat.guest?.mb_per_s)}, API ${f1(nat.api?.mb_per_s)} MB/s` : '–',
    verdict(nat ? nat.guest?.mb_per_s >= 200 && nat.api?.mb_per_s >= 200 : null),
  ]);
  const slow = (k) => ratio(nat?.[k]?.mb_per_s, was?.[k]?.mb_per_s);
  rows.push([
    'Wasm within 2.5× of native',
    nat && was ? `guest ${rx(slow('guest'))}, API ${rx(slow('api'))} slower` : results.core?.wasm_error ?? '–',
    verdict(nat && was ? slow('guest') <= 2.5 && slow('api') <= 2.5 : null),
  ]);
  const st = results.state;
  if (st) {
    rows.push([
      `Proxy CPU added per limited request with Redis ≤ 20 µs (${int(st.rate)} req/s)`,
      st.added_cpu_us != null
        ? `${f1(st.redis.cpu_us_per_req)} vs ${f1(st.memory.cpu_us_per_req)} µs = +${f1(st.added_cpu_us)} µs (redis-server itself ${f1(st.redis.redis_us_per_req)} µs)` +
          (st.floor?.added_us != null ? `; one bare loopback round trip at this rate: +${f1(st.floor.added_us)} µs, so Redis costs ${rx(ratio(st.added_cpu_us, st.floor.added_us))} of that floor` : '')
        : '–',
      verdict(st.added_cpu_us == null ? null : st.added_cpu_us <= 20 && st.redis.errors === 0, [st.memory, st.redis]),
    ]);
    rows.push([
      `Added p99 with Redis ≤ 0.3 ms (${int(st.rate)} req/s)`,
      st.added_p99_us != null ? `${f2(ms(st.redis.p99_us))} vs ${f2(ms(st.memory.p99_us))} ms = ${st.added_p99_us >= 0 ? '+' : ''}${f2(ms(st.added_p99_us))} ms` : '–',
      verdict(st.added_p99_us == null ? null : ms(st.added_p99_us) <= 0.3, [st.memory, st.redis]),
    ]);
  }
  // The Messages and Responses dialects cost at most 1.3x the chat dialect on the same bytes.
  for (const [which, label] of [['messages', 'Messages'], ['responses', 'Responses']]) {
    const dialect = (side, k) => ratio(side?.[k]?.mb_per_s, side?.[`${k}${which}`]?.mb_per_s);
    const sides = [['native', nat], ['Wasm', was]].filter(([, side]) => side?.[`guest${which}`]);
    rows.push([
      `${label} within 1.3× of chat (same streams)`,
      sides.length ? sides.map(([n, side]) => `${n}: guest ${rx(dialect(side, 'guest'))}, API ${rx(dialect(side, 'api'))}`).join('; ') : '–',
      verdict(sides.length ? sides.every(([, side]) => dialect(side, 'guest') <= 1.3 && dialect(side, 'api') <= 1.3) : null),
    ]);
  }
  return table(['target', 'measured', 'verdict'], rows);
}

function soakGrowth(soak) {
  const s = soak?.samples;
  if (!s || s.length < 4 || soak.error) return null;
  const end = s.at(-1).t_s;
  const mean = (xs) => xs.reduce((a, b) => a + b.rss_kib, 0) / xs.length;
  const second = s.filter((x) => x.t_s >= end * 0.25 && x.t_s < end * 0.5);
  const last = s.filter((x) => x.t_s >= end * 0.75);
  if (!second.length || !last.length) return null;
  const first = mb(mean(second));
  const lastMb = mb(mean(last));
  return { first, last: lastMb, growth: lastMb - first };
}

// ---- sections -----------------------------------------------------------------------------

function cpuTable(results) {
  const rows = [];
  for (const wid of Object.keys(WORKLOADS)) {
    for (const rate of results.params.rates) {
      const v = Object.fromEntries(PROXIES.map((c) => [c, atRate(results, wid, c, rate)]));
      if (!PROXIES.some((c) => v[c])) continue;
      const cell = (c) => (v[c] ? `${f1(v[c].cpu_us_per_req)}${dagger(v[c])}` : skipped(results, wid, c, rate));
      rows.push([
        wid,
        int(rate),
        cell('nginx'),
        cell('zproxy'),
        cell('portkey'),
        rx(ratio(v.zproxy?.cpu_us_per_req, v.nginx?.cpu_us_per_req)),
        rx(ratio(v.portkey?.cpu_us_per_req, v.zproxy?.cpu_us_per_req)),
      ]);
    }
  }
  for (const wid of Object.keys(WORKLOADS)) {
    const v = Object.fromEntries(PROXIES.map((c) => [c, find(results, wid, c)?.saturation]));
    if (!PROXIES.some((c) => v[c])) continue;
    const per = (c) => (v[c]?.requests ? (v[c].proxy_cpu_s * 1e6) / v[c].requests : null);
    const cell = (c) => (v[c] ? `${f1(per(c))}${dagger(v[c])}` : find(results, wid, c) ? 'failed' : 'n/a');
    rows.push([wid, 'saturation', cell('nginx'), cell('zproxy'), cell('portkey'), rx(ratio(per('zproxy'), per('nginx'))), rx(ratio(per('portkey'), per('zproxy')))]);
  }
  return table(['workload', 'rate (req/s)', 'nginx hop (µs)', 'z-ai-proxy (µs)', 'Portkey (µs)', 'z-ai-proxy ÷ nginx', 'Portkey ÷ z-ai-proxy'], rows);
}

// Burst (closed loop, answers in one write) and paced (open loop) medians, and the system
// calls per request behind the burst ones.
const STREAMS = (wid) => WORKLOADS[wid]?.stream;

function costTables(results) {
  if (!results.burst && !results.paced) return 'Not measured in this run.';
  const out = [];
  const cpuRow = (label, c, limit) => {
    const z = c?.zproxy;
    const n = c?.nginx;
    const r = ratio(z?.cpu_us_per_req, n?.cpu_us_per_req);
    const mark = z?.valid === false || n?.valid === false ? ' †' : '';
    return [...label, f1(n?.cpu_us_per_req), f1(z?.cpu_us_per_req), `${rx(r)}${mark}`, limit == null ? 'reported' : r == null ? '–' : r <= limit ? `≤ ${limit}×: met` : `≤ ${limit}×: **missed**`];
  };
  if (results.burst) {
    const rows = results.burst.map((b) => cpuRow([`${b.workload}${b.tls ? ' (TLS upstream)' : ''}`], b.cpu, b.tls ? null : STREAMS(b.workload) ? 2 : 1.5));
    out.push(`### Burst: ${results.params.burstConns} connections, closed loop, every answer in one upstream write

${table(['workload', 'nginx hop (µs)', 'z-ai-proxy (µs)', 'ratio', 'target'], rows)}`);
    const srows = [];
    for (const b of results.burst) {
      for (const cid of ['nginx', 'zproxy']) {
        const s = b.syscalls?.[cid];
        if (!s || s.error) continue;
        const other = Object.entries(s.other).sort((a, c) => c[1] - a[1]).slice(0, 3).map(([k, v]) => `${k} ${f2(v)}`).join(', ');
        srows.push([`${b.workload}${b.tls ? ' (TLS)' : ''}`, LABEL[cid], f2(s.upstream_reads), f2(s.client_writes), f2(s.client_reads), f2(s.upstream_writes), f2(s.eagain), f2(s.log_writes), f2(s.total), other]);
      }
    }
    out.push(`### System calls per request (burst, strace)

Reads and writes that moved bytes; EAGAIN and the batched log writes apart. Targets for answers under 16 KB: ≤ 2 upstream reads and ≤ 2 client sends.

${table(['workload', 'contender', 'upstream reads', 'client sends', 'client reads', 'upstream sends', 'EAGAIN', 'log writes', 'all calls', 'most frequent others'], srows)}`);
  }
  if (results.paced) {
    const rows = results.paced.map((x) => cpuRow([x.workload, int(x.rate)], x.cpu, STREAMS(x.workload) ? 1.75 : 1.5));
    out.push(`### Paced: open loop at fixed rates

${table(['workload', 'rate (req/s)', 'nginx hop (µs)', 'z-ai-proxy (µs)', 'ratio', 'target'], rows)}`);
  }
  return `Medians of ${results.params.costReps} repetitions, nginx hop and z-ai-proxy interleaved, each alone on CPU 0.

${out.join('\n\n')}`;
}

function skipped(results, wid, cid, rate) {
  const r = find(results, wid, cid);
  if (!r) return 'n/a';
  if (r.error) return 'failed';
  return r.rates?.find((x) => x.rate === rate)?.skipped ? 'over capacity' : '–';
}

function throughputTable(results) {
  const rows = [];
  for (const wid of Object.keys(WORKLOADS)) {
    const s = Object.fromEntries(CONTENDERS.map((c) => [c.id, find(results, wid, c.id)?.saturation]));
    const cell = (c) => {
      const r = find(results, wid, c);
      if (!r) return 'n/a';
      if (!s[c]) return 'failed';
      // The floor's generator and upstream share CPU 1 by design: no validity mark there.
      return `${int(s[c].rps)}${s[c].errors ? ` (${s[c].errors} errors)` : ''}${c === 'floor' ? '' : dagger(s[c])}`;
    };
    rows.push([wid, cell('floor'), cell('nginx'), cell('zproxy'), cell('portkey'), rx(ratio(s.zproxy?.rps, s.nginx?.rps)), rx(ratio(s.zproxy?.rps, s.portkey?.rps))]);
  }
  return table(['workload', 'upstream (floor)', 'nginx hop', 'z-ai-proxy', 'Portkey', 'z-ai-proxy ÷ nginx', 'z-ai-proxy ÷ Portkey'], rows);
}

function latencyTables(results) {
  const out = [];
  for (const [wid, w] of Object.entries(WORKLOADS)) {
    const rows = [];
    for (const rate of results.params.rates) {
      const floor = atRate(results, wid, 'floor', rate);
      for (const c of CONTENDERS) {
        const v = atRate(results, wid, c.id, rate);
        if (!v) {
          const why = skipped(results, wid, c.id, rate);
          if (why !== 'n/a') rows.push([int(rate), c.label, why, '', '', '', '', '', '', '']);
          continue;
        }
        const add = (a, b) => (c.id === 'floor' || a == null || b == null ? '–' : `${a - b >= 0 ? '+' : ''}${f2(ms(a - b))}`);
        rows.push([
          int(rate),
          c.label,
          f2(ms(v.lat_us?.p50)),
          f2(ms(v.lat_us?.p99)),
          add(v.lat_us?.p50, floor?.lat_us?.p50),
          add(v.lat_us?.p99, floor?.lat_us?.p99),
          w.stream ? f2(ms(v.ttfb_us?.p50)) : '–',
          w.stream ? add(v.ttfb_us?.p50, floor?.ttfb_us?.p50) : '–',
          String(v.errors_total),
          `${pct(v.gen_core_busy)}${dagger(v)}`,
        ]);
      }
    }
    out.push(`### ${wid}: ${w.label}\n\n${table(['rate', 'contender', 'p50 ms', 'p99 ms', 'added p50', 'added p99', 'TTFB p50 ms', 'added TTFB p50', 'errors', 'generator core'], rows)}`);
  }
  return out.join('\n\n');
}

function memoryTable(results) {
  const rows = (results.rss ?? []).map((r) => [
    LABEL[r.contender],
    WORKLOADS[r.workload].mode,
    r.error ? 'failed' : f1(mb(r.idle_hwm_kib)),
    r.error ? r.error.split('\n')[0].slice(0, 80) : f1(mb(r.peak_hwm_kib)),
    r.load ? int(r.load.ok) : '–',
    r.load ? String(r.load.errors_total) : '–',
    r.load ? int(r.load.max_inflight) : '–',
    r.load?.ttfb_us ? f2(ms(r.load.ttfb_us.p50)) : '–',
  ]);
  return table(['proxy', 'mode', 'idle peak RSS (MB)', `peak RSS, ${int(results.params.streams)} streams (MB)`, 'streams completed', 'errors', 'max concurrent', 'TTFB p50 ms'], rows);
}

function soakSection(results, soakPlotRel) {
  const s = results.soak;
  if (!s) return 'Not run.';
  if (s.error) return `Failed: ${s.error.split('\n')[0]}`;
  const g = soakGrowth(s);
  const step = Math.max(1, Math.ceil(s.samples.length / 12));
  const rows = s.samples.filter((_, i) => i % step === 0 || i === s.samples.length - 1).map((x) => [f1(x.t_s), f1(mb(x.rss_kib))]);
  const lines = [
    `z-ai-proxy, API mode, streaming and non-streaming requests alternating, open loop at ${int(s.rate)} req/s for ${int(s.seconds)} s: ${int(s.load.ok)} requests, ${s.load.errors_total} errors, p99 ${f2(ms(s.load.lat_us?.p99))} ms, at most ${int(s.load.max_inflight)} requests in flight at once, ${f1(s.load.cpu_us_per_req)} CPU-µs per request. Peak RSS ${f1(mb(s.hwm_kib))} MB.${s.load.invalid ? ` † Disturbed: ${s.load.invalid}; a backlog of requests in flight raises the RSS high-water mark, which the allocator keeps.` : ''}`,
    g ? `RSS growth (mean of the last quarter minus mean of the second quarter): ${g.growth >= 0 ? '+' : ''}${f2(g.growth)} MB.` : '',
    '',
    table(['time (s)', 'RSS (MB)'], rows),
  ];
  if (soakPlotRel) lines.push('', `![RSS over the soak](${soakPlotRel})`);
  return lines.join('\n');
}

function coreTable(results) {
  const c = results.core;
  if (!c) return 'Not run.';
  if (c.error) return `Failed: ${c.error.split('\n')[0]}`;
  const rows = ['guest', 'api', 'guestmessages', 'apimessages', 'guestresponses', 'apiresponses'].filter((k) => c.native[k]).map((k) => [
    k,
    f1((c.native[k]?.input_bytes ?? 0) / 1e6),
    f1(c.native[k]?.mb_per_s),
    c.wasm ? f1(c.wasm[k]?.mb_per_s) : '–',
    c.wasm ? rx(ratio(c.native[k]?.mb_per_s, c.wasm[k]?.mb_per_s)) : '–',
  ]);
  const t = table(['stream', 'input (MB)', 'native (MB/s)', 'Wasm (MB/s)', 'Wasm slowdown'], rows);
  return c.wasm_error ? `${t}\n\nWasm: ${c.wasm_error.split('\n')[0]}` : t;
}

function machineTable(results) {
  const m = results.machine;
  const rows = [
    ['CPU', `${m.cpu}, ${m.cpus} logical CPUs`],
    ['memory', `${m.mem_gib} GiB`],
    ['OS, kernel', `${m.os}, ${m.kernel}`],
    ['load average (1/5/15 min) at start, end', `${m.loadavg.join(' ')}; ${m.loadavg_end?.join(' ') ?? '?'}`],
    ['commit', `${m.commit}${m.dirty ? ' (src/ or native/ modified)' : ''}`],
    ['compiler', m.gxx],
    ['nginx', m.nginx],
    ['wrk', m.wrk],
    ['Node.js', m.node],
    ['Portkey gateway', `${m.portkey} (@hono/node-server ${m.hono_node_server})`],
  ];
  return table(['', ''], rows);
}

function problems(results) {
  const out = [];
  if (results.core?.error) out.push(`core: ${results.core.error.split('\n')[0]}`);
  const invalid = [];
  for (const r of results.load ?? []) {
    if (r.error) out.push(`${r.contender}/${r.workload}: ${r.error.split('\n')[0]}`);
    if (r.saturation && r.saturation.errors) out.push(`${r.contender}/${r.workload}: ${r.saturation.errors} errors at saturation`);
    if (r.saturation && !r.saturation.valid && r.contender !== 'floor') invalid.push(`${r.contender}/${r.workload} saturation (${r.saturation.invalid})`);
    for (const x of r.rates ?? []) {
      if (x.skipped) continue;
      if (x.errors_total) out.push(`${r.contender}/${r.workload} @${x.rate}/s: ${x.errors_total} errors (${x.first_error})`);
      if (!x.valid) invalid.push(`${r.contender}/${r.workload} @${x.rate}/s (${x.invalid})`);
    }
  }
  if (invalid.length) {
    out.push(`${invalid.length} run(s) marked invalid (†): ${invalid.join('; ')}. When many are, the machine was busy with other work (see the load average under Machine).`);
  }
  for (const r of results.rss ?? []) {
    if (r.error) out.push(`memory ${r.contender}/${r.workload}: ${r.error.split('\n')[0]}`);
    else if (r.load.errors_total) out.push(`memory ${r.contender}/${r.workload}: ${r.load.errors_total} errors (${r.load.first_error})`);
  }
  for (const b of ['memory', 'redis']) {
    const x = results.state?.[b];
    if (x?.errors) out.push(`state ${b}: ${x.errors} errors or failed runs`);
    if (x?.invalid?.length) out.push(`state ${b}: marked invalid (†): ${x.invalid.join('; ')}`);
  }
  if (results.soak?.error) out.push(`soak: ${results.soak.error.split('\n')[0]}`);
  else if (results.soak?.load?.errors_total) out.push(`soak: ${results.soak.load.errors_total} errors (${results.soak.load.first_error})`);
  return out;
}

// Failures that make the run (and `bench/run.sh`) fail: anything that did not work, as
// opposed to a target missed or a run marked invalid.
function failureCount(results) {
  let n = 0;
  if (results.core?.error || results.core?.wasm_error) ++n;
  for (const r of results.load ?? []) {
    if (r.error || r.saturation?.errors) ++n;
    for (const x of r.rates ?? []) if (!x.skipped && x.errors_total) ++n;
  }
  for (const r of results.rss ?? []) if (r.error || r.load?.errors_total) ++n;
  if (results.soak?.error || results.soak?.load?.errors_total) ++n;
  if (results.state && (results.state.memory?.errors || results.state.redis?.errors)) ++n;
  return n;
}

function method(results) {
  const p = results.params;
  return [
    '- **Cores.** The proxy under test runs alone on CPU 0 (`taskset -c 0`); the load generator, both fake upstreams and the harness share CPU 1. A run is marked invalid (†) when CPU 1 read more than 90 % busy in `/proc/stat`, when other work took more than 25 % of CPU 0 beside the proxy, or when the open-loop generator fell more than 2 ms behind its schedule (p99). (`/proc/stat` under-reports short I/O-bound bursts on this VM, so it only catches CPU-bound neighbours; the lag of the generator catches the rest.)',
    '- **Upstream.** nginx (1 worker) answers with fixed bytes (`bench/upstream/`): a guest token, a guest SSE answer, an official-API SSE answer and JSON body, all saying “Paris is the capital of France.”. Every contender gets the same upstream bytes; each is first probed once and its answer text checked, and every load response must contain the answer (and `[DONE]` for OpenAI streams) or it counts as an error.',
    `- **Contenders.** *upstream (floor)*: the client talks to the fake upstream directly. *nginx hop*: \`proxy_pass\` with a keep-alive upstream pool, \`proxy_buffering off\`, a buffered access log, 1 worker. *z-ai-proxy*: \`build/z-ai-proxy\` (Release), API mode (\`ZAI_API_KEYS=k1\`) or guest mode (\`TOKEN_POOL_SIZE=4\`), default logging (one JSON line per request, to a file). *Portkey*: \`@portkey-ai/gateway\` ${results.machine.portkey} run as its docs advise for production (\`NODE_ENV=production node build/start-server.js\`, one process, \`--headless\`), provider \`openai\` with the upstream as \`x-portkey-custom-host\`; it only speaks the OpenAI format, so it has no guest-mode rows.`,
    `- **CPU per request.** run time of every thread of the proxy's process tree (\`/proc/PID/task/*/schedstat\`, ns; \`/proc/PID/stat\` utime + stime is recorded beside it as a cross-check) over an open-loop run, divided by the requests it answered (warm-up included in both).`,
    `- **Saturation.** wrk, 1 thread, ${p.satConns} connections, ${p.satSeconds} s, closed loop.`,
    `- **Fixed rates.** \`bench/tools/loadgen\`: open loop at ${p.rates.join(', ')} req/s for ${p.rateSeconds} s each (first ${p.rateWarmup} s excluded), latency timed from each request's *scheduled* send time, keep-alive connections opened on demand; rates above ${p.rateCeiling}× a contender's saturation throughput are skipped (“over capacity”). “Added” = contender minus floor at the same rate in the same run. TTFB = time to the first response body byte (a stream's first event; z-ai-proxy sends its status line with the first content, by contract).`,
    `- **Memory.** Peak RSS (VmHWM; nginx: master + worker summed) after start-up, then with ${p.streams} concurrent slow streams (closed loop, ${p.streamChunks} chunks ${p.streamIntervalMs} ms apart from the paced upstream \`bench/tools/paced_upstream\`) for ${p.streamSeconds} s.`,
    `- **State store.** z-ai-proxy (API mode, non-streaming) serving one client key with an rpm limit too high to refuse, so every request is admitted through the store and settled into it: \`STATE_STORE=memory\` and \`STATE_STORE=redis\` (Debian's redis-server on CPU 1, no persistence), interleaved, ${p.costReps} runs each at ${p.stateRate ?? '–'} req/s open loop; medians. redis-server's CPU is read from its own /proc entry and reported apart. Beside it, \`tools/roundtrip_floor\` measures what one bare loopback TCP round trip per request (200 bytes to an echo server on CPU 1, an idle wait in epoll_wait, the reply) adds to a client's CPU at the same rate: the floor under any store call that is awaited.`,
    `- **Soak.** ${p.soakSeconds} s at ${p.soakRate} req/s, RSS sampled every ${p.soakSampleSeconds} s.`,
    `- **Core.** \`bench/core_bench.cpp\` (Google Benchmark, CPU time, median of ${p.coreReps}) feeds a 2 MiB synthetic guest stream (thinking, closing edit, answer) and a 2 MiB official-API stream through \`zproxy::Translator\` in 16 KiB reads; \`bench/wasm_bench.mjs\` runs the same bytes through \`build-wasm/zproxy_test.wasm\` (the Worker's core built alike, plus fixture hooks) under Node with the same per-read loop inside the module (\`fixtureBench\`; process CPU time; output first checked byte for byte against the native build's through \`fixtureRun\`). MB = 10⁶ bytes of upstream input.`,
  ].join('\n');
}

// ---- plots ------------------------------------------------------------------------------

function gnuplot(script, workDir) {
  const file = path.join(workDir, `plot-${process.hrtime.bigint()}.gp`);
  fs.writeFileSync(file, script);
  try {
    execFileSync('gnuplot', [file], { stdio: ['ignore', 'pipe', 'pipe'] });
    return null;
  } catch (e) {
    return `gnuplot failed: ${(e.stderr ?? e.message).toString().split('\n')[0]}`;
  }
}

function latencyPlot(results, file, workDir) {
  const panels = [];
  for (const [wid, w] of Object.entries(WORKLOADS)) {
    const series = [];
    for (const c of CONTENDERS) {
      const pts = results.params.rates.map((rate) => atRate(results, wid, c.id, rate)).filter((v) => v?.lat_us);
      if (!pts.length) continue;
      const dat = path.join(workDir, `lat-${wid}-${c.id}.dat`);
      fs.writeFileSync(dat, pts.map((v) => `${v.rate} ${ms(v.lat_us.p50)} ${ms(v.lat_us.p99)}`).join('\n') + '\n');
      series.push(`'${dat}' using 1:3 with linespoints lw 2 pt 7 lc rgb '${COLORS[c.id]}' title '${c.label} p99'`);
      series.push(`'${dat}' using 1:2 with linespoints lw 1 dt 2 pt 6 lc rgb '${COLORS[c.id]}' title '${c.label} p50'`);
    }
    if (series.length) panels.push(`set title '${w.label}'\nplot ${series.join(', \\\n  ')}`);
  }
  if (!panels.length) return 'no latency data';
  const script = `set terminal pngcairo size ${520 * panels.length},540 font 'DejaVu Sans,10'
set output '${file}'
set multiplot layout 1,${panels.length} title 'Latency vs offered rate (open loop; ${results.mode} run)'
set logscale xy
set xtics (${results.params.rates.join(', ')})
set xrange [${results.params.rates[0] / 1.3}:${results.params.rates.at(-1) * 1.3}]
set xlabel 'offered rate (req/s)'
set ylabel 'latency (ms)'
set key outside below center horizontal maxcols 2 font ',8' spacing 0.9
set bmargin 8
set grid
${panels.join('\n')}
unset multiplot
`;
  return gnuplot(script, workDir);
}

function soakPlot(results, file, workDir) {
  const s = results.soak;
  if (!s?.samples?.length || s.error) return 'no soak data';
  const dat = path.join(workDir, 'soak.dat');
  fs.writeFileSync(dat, s.samples.map((x) => `${x.t_s} ${mb(x.rss_kib)}`).join('\n') + '\n');
  const script = `set terminal pngcairo size 800,400 font 'DejaVu Sans,10'
set output '${file}'
set title 'z-ai-proxy RSS during the soak (${int(s.rate)} req/s)'
set xlabel 'time (s)'
set ylabel 'RSS (MB)'
set yrange [0:*]
set grid
plot '${dat}' using 1:2 with lines lw 2 lc rgb '${COLORS.zproxy}' notitle
`;
  return gnuplot(script, workDir);
}

// ---- entry --------------------------------------------------------------------------------

// Validity from the stored measurements (so re-rendering an older run applies today's rules).
function revalidate(results) {
  const all = [];
  for (const r of results.load ?? []) {
    if (r.saturation) all.push(r.saturation);
    for (const x of r.rates ?? []) if (!x.skipped) all.push(x);
  }
  for (const r of results.rss ?? []) if (r.load) all.push(r.load);
  if (results.soak?.load) all.push(results.soak.load);
  for (const x of all) {
    if (x.gen_core_busy == null) continue;
    x.invalid = invalidReason(x);
    x.valid = x.invalid == null;
  }
}

export function writeReport(results, { md, plot, soakPlot: soakFile, workDir: runDir }) {
  revalidate(results);
  const workDir = path.join(runDir, 'plot');
  fs.mkdirSync(workDir, { recursive: true });
  const plotErr = latencyPlot(results, plot, workDir);
  const soakErr = soakPlot(results, soakFile, workDir);
  const rel = (f) => path.relative(path.dirname(md), f);
  const smoke = results.mode === 'smoke';
  const probs = problems(results);
  const text = `# z-ai-proxy benchmark results

${smoke ? '> **Smoke run**: every stage, tiny durations. The numbers only show that the harness works; run `bash bench/run.sh` for real ones.\n\n' : ''}Generated by \`bash bench/run.sh${smoke ? ' --smoke' : ''}\` from ${results.started} to ${results.finished} (commit ${results.machine.commit}). Ratios compare contenders measured in this same run; absolute numbers stand beside them. † marks a run disturbed by other work on the machine or a starved generator (see Method; not trustworthy).

## Targets

${targets(results)}

## Headline: CPU time per request

CPU-µs per request spent by the proxy process (alone on its core) at fixed open-loop rates, and over the closed-loop saturation run. Lower is better.

${cpuTable(results)}

## CPU per request beside the nginx hop: burst and paced

${costTables(results)}

## Throughput at saturation (req/s)

${throughputTable(results)}

## Latency added over the floor (open loop)

${latencyTables(results)}

${plotErr ? `(plot: ${plotErr})` : `![latency vs rate](${rel(plot)})`}

## Memory

${memoryTable(results)}

## Soak

${soakSection(results, soakErr ? null : rel(soakFile))}

## Core translation throughput

${coreTable(results)}

## Machine

${machineTable(results)}

## Method

${method(results)}

## Problems in this run

${probs.length ? probs.map((x) => `- ${x}`).join('\n') : 'None: every request of every stage got a correct answer.'}
`;
  fs.writeFileSync(md, text);
  return { md, plot: plotErr ? null : plot, failures: failureCount(results) };
}

if (process.argv[1] && import.meta.url === new URL(`file://${path.resolve(process.argv[1])}`).href) {
  const [json, md, plot, soak] = process.argv.slice(2);
  if (!json) {
    console.error('usage: node bench/harness/report.mjs RESULTS_JSON [MD] [PLOT] [SOAK_PLOT]');
    process.exit(2);
  }
  const dir = path.dirname(path.resolve(json));
  const results = JSON.parse(fs.readFileSync(json, 'utf8'));
  const r = writeReport(results, {
    md: md ?? path.join(dir, 'RESULTS.md'),
    plot: plot ?? path.join(dir, 'latency_vs_rate.png'),
    soakPlot: soak ?? path.join(dir, 'soak_rss.png'),
    workDir: dir,
  });
  console.log(`wrote ${r.md}`);
}
