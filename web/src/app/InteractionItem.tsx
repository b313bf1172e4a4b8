import { memo, useRef } from 'react';
import type { Interaction } from '../../../src/protocol/protocol.js';

/**
 * One prompt and its response. Memoised on the interaction object: the session client keeps
 * unchanged interactions identical, so only the one that changed renders again.
 * `data-render-count` makes that observable from outside (a browser test can assert that an
 * untouched interaction's count stays put while another streams).
 */
export const InteractionItem = memo(function InteractionItem({ interaction }: { interaction: Interaction }) {
  const renders = useRef(0);
  renders.current += 1;
  const { id, state, prompt_message, response_message, error } = interaction;

  return (
    <li
      className={`interaction state-${state}`}
      data-interaction-id={id}
      data-state={state}
      data-render-count={renders.current}
    >
      <div className="prompt">
        <p className="text">{prompt_message}</p>
      </div>
      <div className="response">
        <span className={`badge badge-${state}`} data-testid="interaction-state">
          {state}
        </span>
        {response_message ? (
          <p className="text" data-testid="response">{response_message}</p>
        ) : (
          state === 'waiting' && <p className="text muted">Waiting for a response…</p>
        )}
        {error && (
          <p className="error-text" data-testid="interaction-error">
            {error}
          </p>
        )}
      </div>
    </li>
  );
});
