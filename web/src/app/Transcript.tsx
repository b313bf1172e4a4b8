import { useEffect, useLayoutEffect, useRef } from 'react';
import type { Interaction } from '../../../src/protocol/protocol.js';
import { InteractionItem } from './InteractionItem.js';

/** How close to the end still counts as "at the bottom", in px (sub-pixel rounding, zoom). */
const BOTTOM_SLACK = 8;

/**
 * The scrolling list of interactions. Reading back in the history must not be disturbed by
 * new output, while someone watching the end should keep seeing it: so it follows new content
 * only if the view was at the bottom before that content arrived, and otherwise never touches
 * `scrollTop`. Redundant updates keep the same `interactions` array and do nothing at all.
 */
export function Transcript({ interactions }: { interactions: readonly Interaction[] }) {
  const ref = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);

  const onScroll = () => {
    const el = ref.current;
    if (el) atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight <= BOTTOM_SLACK;
  };

  const stick = () => {
    const el = ref.current;
    if (el && atBottom.current) el.scrollTop = el.scrollHeight;
  };

  // Before paint, so sticking to the bottom never shows a frame scrolled up by the new content.
  useLayoutEffect(stick, [interactions]);

  // A resized window changes the viewport, not the content: keep the bottom in view too.
  useEffect(() => {
    const el = ref.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(stick);
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
