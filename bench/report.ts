// The bench's output: one table (measurement, Portcullis, nginx, HAProxy, ratio vs the
// best peer) printed and written into bench/RESULTS.md with how it was measured.
import type { ProxyName } from './lib/peers.js';

export interface Row {
  id: string;
  measurement: string;
  unit: string;
  better: 'higher' | 'lower';
  values: Partial<Record<ProxyName, number>>;
  /**
   * Each proxy's figure in every round, in round order, when the row is a median over
   * alternating rounds: the ratio is then also taken round by round, where both sides met
   * the same moment of a shared machine, and its spread is shown beside the median.
   */
  rounds?: Partial<Record<ProxyName, number[]>>;
  note?: string | undefined;
}

const COLUMNS: readonly ProxyName[] = ['Portcullis', 'nginx', 'HAProxy'];

/** The columns: a baseline build of ours and the Node floor only when the run measured them. */
function columnsOf(rows: readonly Row[]): ProxyName[] {
  const optional = (['Portcullis baseline', 'Node floor'] as const).filter((name) => rows.some((row) => row.values[name] !== undefined));
  return [COLUMNS[0]!, ...optional, ...COLUMNS.slice(1)];
}

export interface Ratio {
  ratio: number;
  peer: ProxyName;
  /** The lowest and highest of the round-by-round ratios against the same peer (two rounds or more). */
  range?: [number, number];
}

/** Portcullis / best peer; for lower-is-better figures the best peer is the lowest, and the ratio is still ours / theirs. */
export function ratioOf(row: Row): Ratio | undefined {
  const ours = row.values.Portcullis;
  const peers = (['nginx', 'HAProxy'] as const).flatMap((name) => (row.values[name] !== undefined && Number.isFinite(row.values[name]) ? [{ name, value: row.values[name]! }] : []));
  if (ours === undefined || !Number.isFinite(ours) || peers.length === 0) return undefined;
  const best = peers.reduce((a, b) => ((row.better === 'higher' ? b.value > a.value : b.value < a.value) ? b : a));
  const result: Ratio = { ratio: ours / best.value, peer: best.name };
  const ourRounds = row.rounds?.Portcullis ?? [];
  const theirRounds = row.rounds?.[best.name] ?? [];
  const byRound = ourRounds.flatMap((value, round) => {
    const theirs = theirRounds[round];
    return theirs !== undefined && theirs > 0 && Number.isFinite(value) ? [value / theirs] : [];
  });
  if (byRound.length >= 2) result.range = [Math.min(...byRound), Math.max(...byRound)];
  return result;
}

export function formatNumber(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function ratioText(row: Row): string {
  const ratio = ratioOf(row);
  if (!ratio) return '—';
  const remarks = [
    ...(row.better === 'lower' ? ['lower is better'] : []),
    ...(ratio.range ? [`${ratio.range[0].toFixed(2)}–${ratio.range[1].toFixed(2)} by round`] : []),
  ];
  return `${ratio.ratio.toFixed(2)}× ${ratio.peer}${remarks.length ? ` (${remarks.join('; ')})` : ''}`;
}

export function markdownTable(rows: readonly Row[]): string {
  const columns = columnsOf(rows);
  const lines = [`| measurement | ${columns.join(' | ')} | ratio vs best peer | notes |`, `|---|${columns.map(() => '---:|').join('')}---|---|`];
  for (const row of rows) {
    lines.push(`| ${row.measurement} | ${columns.map((name) => formatNumber(row.values[name])).join(' | ')} | ${ratioText(row)} | ${row.note ?? ''} |`);
  }
  return lines.join('\n');
}

export function textTable(rows: readonly Row[]): string {
  const columns = columnsOf(rows);
  const cells = [['measurement', ...columns, 'ratio vs best peer'], ...rows.map((row) => [row.measurement, ...columns.map((name) => formatNumber(row.values[name])), ratioText(row)])];
  const widths = cells[0]!.map((_, column) => Math.max(...cells.map((line) => line[column]!.length)));
  const last = columns.length + 1;
  return cells.map((line) => line.map((cell, column) => (column === 0 || column === last ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ')).join('\n');
}
