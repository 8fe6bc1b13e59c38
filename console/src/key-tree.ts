// The "Keys" tree: the listed keys under a prefix as folders (one per next "/" segment) and keys,
// with the keyboard of the WAI-ARIA tree pattern (arrows, Home/End, Enter/Space, roving tabindex).

import type { ListedItem } from '../../packages/client/src';
import { h, replace } from './dom';

interface Folder {
  /** The full key prefix it stands for, ending with "/". */
  path: string;
  name: string;
  folders: Map<string, Folder>;
  keys: { key: string; name: string; item: ListedItem }[];
}

export class KeyTree {
  readonly element: HTMLUListElement;
  private readonly expanded = new Set<string>();
  /** The item that takes Tab focus: `f:<path>` or `k:<key>`. */
  private current: string | null = null;
  private selected: string | null = null;
  private items: ListedItem[] = [];
  private base = '';

  constructor(private readonly onSelect: (key: string) => void) {
    this.element = h('ul', { role: 'tree', 'aria-label': 'Keys', class: 'tree' });
    this.element.addEventListener('click', (event) => {
      const item = (event.target as Element).closest<HTMLElement>('[role="treeitem"]');
      if (item) this.activate(item);
    });
    this.element.addEventListener('keydown', (event) => this.onKey(event));
  }

  /**
   * Shows `items` (sorted as listed) under `prefix`: the tree starts at the prefix's last "/", so
   * with "app/" the keys "app/a" and "app/b/c" are the key "a" and the folder "b".
   */
  show(prefix: string, items: ListedItem[]): void {
    const base = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    if (base !== this.base) this.expanded.clear();
    this.base = base;
    this.items = items;
    this.render();
  }

  /** Marks the open key (aria-selected), or none. */
  select(key: string | null): void {
    this.selected = key;
    if (key !== null) this.current = `k:${key}`;
    this.render();
  }

  private render(): void {
    const root: Folder = { path: this.base, name: '', folders: new Map(), keys: [] };
    for (const item of this.items) {
      if (!item.key.startsWith(this.base)) continue;
      const parts = item.key.slice(this.base.length).split('/');
      let folder = root;
      for (const part of parts.slice(0, -1)) {
        const path = `${folder.path}${part}/`;
        let next = folder.folders.get(part);
        if (!next) folder.folders.set(part, (next = { path, name: part, folders: new Map(), keys: [] }));
        folder = next;
      }
      folder.keys.push({ key: item.key, name: parts[parts.length - 1], item });
    }
    const hadFocus = this.element.contains(document.activeElement);
    replace(this.element, ...this.children(root, 1));
    const all = this.treeItems();
    const current = all.find((item) => item.dataset.id === this.current) ?? all[0];
    if (current) {
      current.tabIndex = 0;
      this.current = current.dataset.id ?? null;
      if (hadFocus) current.focus();
    }
  }

  private children(folder: Folder, level: number): HTMLElement[] {
    const folders = [...folder.folders.values()].map((child) => {
      const open = this.expanded.has(child.path);
      const label = child.name === '' ? '(empty segment)' : child.name;
      return h(
        'li',
        { role: 'treeitem', 'aria-expanded': String(open), 'aria-level': level, 'aria-label': label, tabindex: '-1', 'data-id': `f:${child.path}`, class: 'folder' },
        h('span', { class: 'row' }, h('span', { class: 'twisty', 'aria-hidden': 'true' }), h('span', { class: 'name' }, label, h('span', { class: 'slash', 'aria-hidden': 'true' }, '/'))),
        open ? h('ul', { role: 'group' }, ...this.children(child, level + 1)) : null,
      );
    });
    const keys = folder.keys.map(({ key, name, item }) => {
      const label = name === '' ? '(empty segment)' : name;
      return h(
        'li',
        { role: 'treeitem', 'aria-level': level, 'aria-label': label, 'aria-selected': String(key === this.selected), tabindex: '-1', 'data-id': `k:${key}`, 'data-key': key, class: 'key', title: key },
        h('span', { class: 'row' }, h('span', { class: 'name' }, label), item.expiresAt ? h('span', { class: 'badge', 'aria-hidden': 'true' }, 'TTL') : null),
      );
    });
    return [...folders, ...keys];
  }

  private treeItems(): HTMLElement[] {
    return [...this.element.querySelectorAll<HTMLElement>('[role="treeitem"]')];
  }

  private focusItem(item: HTMLElement | undefined): void {
    if (!item) return;
    for (const other of this.treeItems()) other.tabIndex = -1;
    item.tabIndex = 0;
    this.current = item.dataset.id ?? null;
    item.focus();
  }

  private toggle(item: HTMLElement, open?: boolean): void {
    const path = item.dataset.id!.slice(2);
    const next = open ?? !this.expanded.has(path);
    if (next) this.expanded.add(path);
    else this.expanded.delete(path);
    this.current = item.dataset.id ?? null;
    this.render();
    this.treeItems().find((candidate) => candidate.dataset.id === this.current)?.focus();
  }

  private activate(item: HTMLElement): void {
    if (item.dataset.key !== undefined) {
      this.focusItem(item);
      this.onSelect(item.dataset.key);
    } else {
      this.toggle(item);
    }
  }

  private onKey(event: KeyboardEvent): void {
    const item = (event.target as Element).closest<HTMLElement>('[role="treeitem"]');
    if (!item) return;
    const all = this.treeItems();
    const index = all.indexOf(item);
    const isFolder = item.dataset.key === undefined;
    const open = item.getAttribute('aria-expanded') === 'true';
    const parent = item.parentElement?.closest<HTMLElement>('[role="treeitem"]') ?? undefined;
    switch (event.key) {
      case 'ArrowDown':
        this.focusItem(all[index + 1]);
        break;
      case 'ArrowUp':
        this.focusItem(all[index - 1]);
        break;
      case 'Home':
        this.focusItem(all[0]);
        break;
      case 'End':
        this.focusItem(all[all.length - 1]);
        break;
      case 'ArrowRight':
        if (isFolder && !open) this.toggle(item, true);
        else if (isFolder) this.focusItem(all[index + 1]);
        break;
      case 'ArrowLeft':
        if (isFolder && open) this.toggle(item, false);
        else this.focusItem(parent);
        break;
      case 'Enter':
      case ' ':
        this.activate(item);
        break;
      default:
        return;
    }
    event.preventDefault();
  }
}
