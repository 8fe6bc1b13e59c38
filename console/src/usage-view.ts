// Usage: the account's key count against its limit, and its rate limits (GET /kv/usage).

import type { KvClient, Usage } from '../../packages/client/src';
import { formatDuration, formatNumber, h, replace } from './dom';
import type { Feedback } from './feedback';

export class UsageView {
  readonly element: HTMLElement;
  private readonly body = h('div', { class: 'usage-body' }, h('p', { class: 'empty' }, 'Loading…'));
  private readonly refreshButton = h('button', { type: 'button' }, 'Refresh');

  constructor(
    private readonly kv: KvClient,
    private readonly feedback: Feedback,
  ) {
    this.refreshButton.addEventListener('click', () => void this.feedback.run(() => this.load(), this.refreshButton));
    this.element = h(
      'section',
      { class: 'panel', 'aria-labelledby': 'usage-title' },
      h('div', { class: 'section-head' }, h('h1', { id: 'usage-title' }, 'Usage'), this.refreshButton),
      this.body,
    );
  }

  /** Loads the usage when the section is shown. */
  async refresh(): Promise<void> {
    try {
      await this.load();
    } catch (error) {
      this.feedback.error(error);
    }
  }

  private async load(): Promise<void> {
    render(this.body, await this.kv.usage());
  }
}

function render(body: HTMLElement, usage: Usage): void {
  const { limits } = usage;
  const share = limits.maxKeys > 0 ? Math.min(1, usage.keys / limits.maxKeys) : 0;
  const meter = h('meter', { min: 0, max: limits.maxKeys, value: usage.keys, 'aria-label': 'Keys used', class: share > 0.9 ? 'meter high' : 'meter' });
  const row = (label: string, value: string, extra?: Node) => [h('dt', null, label), h('dd', null, value, extra ?? null)];
  replace(
    body,
    h(
      'dl',
      { class: 'usage' },
      ...row('Keys', `${formatNumber(usage.keys)} of ${formatNumber(limits.maxKeys)} (${Math.round(share * 100)} %)`, meter),
      ...row('Reads per second', `up to ${formatNumber(limits.readsPerSecond)}`),
      ...row('Writes per second', `up to ${formatNumber(limits.writesPerSecond)}`),
      ...row('Largest value', `${formatNumber(limits.maxValueBytes)} bytes`),
      ...row('Longest key', `${formatNumber(limits.maxKeyBytes)} bytes`),
      ...row('Longest TTL', formatDuration(limits.maxTtlSeconds * 1000)),
    ),
    h('p', { class: 'hint' }, 'Rates are limits per second; a request over them is answered 429 rate_limited.'),
  );
}
