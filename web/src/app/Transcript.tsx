import { useEffect, useLayoutEffect, useRef } from 'react';
import type { Interaction } from '../../../src/protocol/protocol.js';
import { InteractionItem } from './InteractionItem.js';

/** How close to the end still counts as "at the bottom", in px (sub-pixel rounding, zoom). */
const BOTTOM_SLACK = 8;

/** An interaction in view and where it sat in the content, to keep it still when text grows above it. */
interface Anchor {
  node: Element;
  /** Its top, in px from the top of the content (not of the view). */
  top: number;
}

const contentTop = (container: HTMLElement, node: Element) =>
  node.getBoundingClientRect().top - container.getBoundingClientRect().top + container.scrollTop;

/** The first interaction whose bottom is below the top of the view (items are in order: bisect). */
function firstVisible(container: HTMLElement): Element | null {
  const items = container.querySelector('.interactions')?.children;
  if (!items || items.length === 0) return null;
  const viewTop = container.getBoundingClientRect().top;
  let lo = 0;
  let hi = items.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (items[mid].getBoundingClientRect().bottom <= viewTop) lo = mid + 1;
    else hi = mid;
  }
  return items[lo];
}

/**
 * The scrolling list of interactions. Someone watching the end keeps seeing it while a
 * response streams in; someone reading back in the history is not disturbed: the view stays
 * where it is (and if text grows above it, it moves with its content, so what the reader
 * looks at does not slide away). Both happen in a layout effect, before the browser paints, so
 * no frame ever shows the intermediate position.
 *
 * "At the bottom" is judged from the live scroll position against the content height before
 * the update: a scroll the reader just made counts even if its scroll event has not run yet,
 * so a fast stream cannot pull the view back down under a reader who started scrolling up.
 * Redundant updates keep the same `interactions` array and do nothing at all; the items are
 * memoised on their (identity-preserved) interaction, so only a changed one renders again.
 */
export function Transcript({ interactions }: { interactions: readonly Interaction[] }) {
  const ref = useRef<HTMLDivElement>(null);
  /** The reader is at the bottom, as of the last scroll or update. */
  const following = useRef(true);
  /** `scrollHeight` at the last scroll or update: the content the reader's position refers to. */
  const height = useRef(0);
  const anchor = useRef<Anchor | null>(null);

  const remember = (el: HTMLElement) => {
    height.current = el.scrollHeight;
    following.current = el.scrollHeight - el.scrollTop - el.clientHeight <= BOTTOM_SLACK;
    const node = firstVisible(el);
    anchor.current = node && { node, top: contentTop(el, node) };
  };

  const onScroll = () => {
    if (ref.current) remember(ref.current);
  };

  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const wasAtBottom = height.current - el.scrollTop - el.clientHeight <= BOTTOM_SLACK;
    if (wasAtBottom) {
      el.scrollTop = el.scrollHeight;
    } else if (anchor.current?.node.isConnected) {
      const shift = contentTop(el, anchor.current.node) - anchor.current.top;
      if (shift !== 0) el.scrollTop += shift;
    }
    remember(el);
  }, [interactions]);

  // A resized window changes the viewport, not the content: keep the bottom in view too.
  useEffect(() => {
    const el = ref.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(() => {
      if (following.current) el.scrollTop = el.scrollHeight;
      remember(el);
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  return (
    <div className="transcript" data-testid="transcript" ref={ref} onScroll={onScroll}>
      {interactions.length === 0 ? (
        <p className="muted empty">No prompts yet. Send one below.</p>
      ) : (
        <ol className="interactions">
          {interactions.map((i) => (
            <InteractionItem key={i.id} interaction={i} />
          ))}
        </ol>
      )}
    </div>
  );
}
