import type { Interaction, Session } from '../protocol/protocol.js';
import { utf8Length, type ResponseStream, type SessionWriter } from '../writer/session-writer.js';

export interface ResponderOptions {
  writer: SessionWriter;
  sessionId: string;
  /** Chunks (words) per second. */
  rate: number;
  /** The reply to a prompt, as the chunks to stream. */
  compose?: (prompt: string) => string[];
  log?: (line: string) => void;
}

/** A made-up answer that quotes the prompt, long enough to watch it stream. */
export function demoReply(prompt: string, words = 120): string[] {
  const quoted = prompt.length > 80 ? `${prompt.slice(0, 77)}…` : prompt;
  const intro = `You asked: "${quoted}". Here is a streamed answer, written in chunks through the writer library.\n\n`;
  const filler = 'Each chunk is appended with its byte offset, so a retry after a restart never doubles or drops text'.split(' ');
  const body = Array.from({ length: words }, (_, n) => filler[n % filler.length] + ((n + 1) % filler.length === 0 ? '.\n' : ' '));
  return [intro, ...body, '\n— end of the demo answer.'];
}

/**
 * Answers every prompt of one session that waits for a response, once: given each new state
 * of the session, it starts a reply for each `waiting` interaction it has not taken yet, and
 * streams it at `rate` chunks per second through the writer. A reply in progress survives a
 * restart of the service (the writer retries); the session state may arrive again and again
 * (reconnects, duplicates) without an interaction being answered twice.
 */
export class Responder {
  private readonly taken = new Set<string>();
  private readonly active = new Map<string, ResponseStream>();
  private stopped = false;
  /** Replies finished (completed or failed), for tests and logs. */
  readonly finished: { id: string; ok: boolean; bytes: number }[] = [];

  constructor(private readonly options: ResponderOptions) {
    if (!(options.rate > 0)) throw new TypeError('rate must be a number > 0');
  }

  /** Feed it every state of the session (for instance from SessionClient.subscribe). */
  onSession(session: Session | null): void {
    if (!session || this.stopped) return;
    for (const interaction of session.interactions) {
      if (interaction.state === 'waiting' && !this.taken.has(interaction.id)) this.answer(interaction);
    }
  }

  /** Replies still streaming. */
  get inProgress(): number {
    return this.active.size;
  }

  /** Stops taking prompts and fails the replies in progress with `reason`. */
  async stop(reason = 'the agent was stopped'): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.active.values()].map((reply) => reply.fail(reason)));
  }

  private answer(interaction: Interaction): void {
    const { writer, sessionId, rate, compose = demoReply, log = () => {} } = this.options;
    this.taken.add(interaction.id);
    const reply = writer.respond(sessionId, interaction.id, { offset: utf8Length(interaction.response_message) });
    this.active.set(interaction.id, reply);
    log(`answering ${interaction.id}: ${JSON.stringify(interaction.prompt_message.slice(0, 60))}`);
    void (async () => {
      try {
        for (const chunk of compose(interaction.prompt_message)) {
          if (this.stopped) return;
          reply.write(chunk);
          await new Promise((resolve) => setTimeout(resolve, 1000 / rate));
        }
        if (this.stopped) return;
        await reply.complete();
        this.finished.push({ id: interaction.id, ok: true, bytes: reply.committedBytes });
        log(`done ${interaction.id}: ${reply.committedBytes} bytes in ${reply.requests} requests`);
      } catch (error) {
        this.finished.push({ id: interaction.id, ok: false, bytes: reply.committedBytes });
        log(`reply to ${interaction.id} failed: ${(error as Error).message}`);
      } finally {
        this.active.delete(interaction.id);
      }
    })();
  }
}
