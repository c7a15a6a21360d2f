/**
 * The live quiz's state: the question the teacher has open, the student's
 * answer, and (teachers) the counts, the history and the actions. It follows
 * the course service by long-polling `live?after=<version>` for the plugin's
 * whole life (standing by while the browser tab is hidden), so a student
 * with the panel collapsed still sees the badge. The API is injected; Jest
 * drives it against a fake.
 */
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import {
  ILiveQuestion,
  ILiveState,
  IOpenLiveRequest,
  ITypedLiveRequest
} from './model';

export interface ILiveAPI {
  live(after?: number, signal?: AbortSignal): Promise<ILiveState>;
  openLive(request: IOpenLiveRequest): Promise<ILiveQuestion>;
  liveQuestion(id: number): Promise<ILiveQuestion>;
  liveHistory(): Promise<ILiveQuestion[]>;
  answerLive(id: number, choice: number): Promise<ILiveQuestion>;
  closeLive(id: number): Promise<ILiveQuestion>;
  revealLive(id: number): Promise<ILiveQuestion>;
  downloadUrl(endPoint: string): string;
}

/** An error to show: the service's sentence and its reason slug. */
export interface ILiveProblem {
  message: string;
  reason: string;
}

/** Pause between two long-polls, in ms (the service holds each one up to 25 s). */
export const LIVE_INTERVAL = 250;
/** Pause when the service answers at once without news (it does not long-poll). */
export const LIVE_SLOW_INTERVAL = 3000;
/** Longest pause after errors, in ms. */
export const LIVE_MAX_INTERVAL = 30 * 1000;
/** Choices a question may have. */
export const MIN_CHOICES = 2;
export const MAX_CHOICES = 5;

/** A question typed by the teacher, as the form holds it. */
export interface ILiveDraft {
  text: string;
  choices: string[];
  /** Index into `choices`, or null: no single right answer. */
  answer: number | null;
  explanation: string;
}

/** A letter per choice: A, B, C, ... */
export function choiceLetter(index: number): string {
  return String.fromCharCode(65 + index);
}

/**
 * Check a typed question and turn it into the open request; empty choices
 * are left out (the right answer follows its choice).
 */
export function draftRequest(
  draft: ILiveDraft
):
  | { request: ITypedLiveRequest; error?: undefined }
  | { request?: undefined; error: string } {
  const text = draft.text.trim();
  if (!text) {
    return { error: 'Write the question first.' };
  }
  const kept: { text: string; index: number }[] = [];
  draft.choices.forEach((c, index) => {
    if (c.trim()) {
      kept.push({ text: c.trim(), index });
    }
  });
  if (kept.length < MIN_CHOICES || kept.length > MAX_CHOICES) {
    return {
      error: `Give ${MIN_CHOICES} to ${MAX_CHOICES} choices (you gave ${kept.length}).`
    };
  }
  const texts = kept.map(k => k.text);
  if (new Set(texts).size !== texts.length) {
    return { error: 'Two choices are the same: make each choice different.' };
  }
  let answer: number | null = null;
  if (draft.answer !== null) {
    answer = kept.findIndex(k => k.index === draft.answer);
    if (answer < 0) {
      return { error: 'The right answer is an empty choice: pick another one.' };
    }
  }
  const explanation = draft.explanation.trim();
  return {
    request: { text, choices: texts, answer, explanation: explanation || null }
  };
}

function problem(error: unknown): ILiveProblem {
  const e = error as { message?: string; reason?: string };
  return {
    message: e?.message || 'Something went wrong. Reload the page.',
    reason: e?.reason || ''
  };
}

export class LiveModel {
  constructor(readonly api: ILiveAPI) {}

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The service's version of the live state (null before the first answer). */
  version: number | null = null;
  /** The current question: the last one opened, whatever its state. */
  question: ILiveQuestion | null = null;
  /** Why the service could not be followed (the poll retries, backing off). */
  pollError: ILiveProblem | null = null;
  /** Set from `me`: teachers get the counts and the actions, no badge. */
  teacher = false;
  /** The choice being sent, shown as chosen until the service answers. */
  sending: number | null = null;
  answerError: ILiveProblem | null = null;
  /** A teacher's open request under way. */
  opening = false;
  openError: ILiveProblem | null = null;
  /** A close or reveal under way. */
  acting: 'close' | 'reveal' | null = null;
  actionError: ILiveProblem | null = null;
  /** Teachers: earlier questions, newest first (null until loaded). */
  history: ILiveQuestion[] | null = null;
  historyError: ILiveProblem | null = null;
  /** Teachers: an earlier question shown in the live view instead of the current one. */
  viewed: ILiveQuestion | null = null;
  poll: Poll | null = null;

  /** The question the teacher's view shows. */
  get shown(): ILiveQuestion | null {
    if (this.viewed && this.viewed.id !== this.question?.id) {
      return this.viewed;
    }
    return this.question;
  }

  /** The choice to mark as the student's: the one being sent, else their answer. */
  get chosen(): number | null {
    return this.sending ?? this.question?.my_answer ?? null;
  }

  /**
   * Whether the sidebar tab shows the badge: a question waits for the
   * student's answer, or an answer was revealed that they have not seen.
   */
  get attention(): boolean {
    const q = this.question;
    if (this.teacher || !q) {
      return false;
    }
    if (q.state === 'open') {
      return this.chosen === null;
    }
    return q.state === 'revealed' && this._seenReveal !== q.id;
  }

  /** Follow the service for as long as the plugin lives. */
  start(): void {
    if (this.poll) {
      return;
    }
    this.poll = new Poll({
      auto: true,
      factory: () => this.tick(),
      frequency: { interval: LIVE_INTERVAL, backoff: true, max: LIVE_MAX_INTERVAL },
      name: 'course:live',
      standby: 'when-hidden'
    });
  }

  /** Ask for news now (ends the long-poll under way). */
  refresh(): void {
    void this.poll?.refresh();
  }

  /**
   * One round: the current state at once the first time, then wait for a
   * version newer than ours. Rejects on errors so the poll backs off.
   */
  async tick(): Promise<void> {
    this._abort?.abort();
    const abort = new AbortController();
    this._abort = abort;
    const answers = this._answers;
    const started = Date.now();
    const before = this.version;
    let reply: ILiveState;
    try {
      reply = await this.api.live(before ?? undefined, abort.signal);
    } catch (error) {
      if (abort.signal.aborted) {
        return; // a newer round replaced this one
      }
      this.pollError = problem(error);
      this._emit();
      throw error;
    }
    if (abort.signal.aborted) {
      return;
    }
    let q = reply.question;
    const mine = this.question;
    if (
      q &&
      mine &&
      q.id === mine.id &&
      answers !== this._answers &&
      q.state === 'open'
    ) {
      // The student answered while this round was under way: theirs is newer.
      q = { ...q, my_answer: mine.my_answer };
    }
    const quick = Date.now() - started < 1000;
    this._setQuestion(q);
    this.version = reply.version;
    this.pollError = null;
    this._pace(before !== null && reply.version === before && quick);
    this._emit();
  }

  /** The sidebar panel was shown or hidden: a reveal shown there is seen. */
  setPanelVisible(visible: boolean): void {
    this._panelVisible = visible;
    if (visible && this.question?.state === 'revealed') {
      this._seenReveal = this.question.id;
      this._emit();
    }
  }

  /** A student picks (or changes) their answer while the question is open. */
  async answer(choice: number): Promise<void> {
    const q = this.question;
    if (!q || q.state !== 'open') {
      return;
    }
    this.sending = choice;
    this.answerError = null;
    this._emit();
    try {
      const answered = await this.api.answerLive(q.id, choice);
      this._answers++;
      if (this.question?.id === answered.id) {
        this.question = { ...this.question, ...answered };
      }
    } catch (error) {
      this.answerError = problem(error);
      if (this.answerError.reason === 'closed' && this.question?.id === q.id) {
        // The teacher closed it meanwhile: show that until the poll has the news.
        if (this.question.state === 'open') {
          this.question = { ...this.question, state: 'closed' };
        }
        this.refresh();
      }
    } finally {
      this.sending = null;
      this._emit();
    }
  }

  /** Teachers: open a question (closing any open one); null if refused. */
  async open(request: IOpenLiveRequest): Promise<ILiveQuestion | null> {
    if (this.opening) {
      return null;
    }
    this.opening = true;
    this.openError = null;
    this._emit();
    try {
      const opened = await this.api.openLive(request);
      this.viewed = null;
      this._setQuestion(opened);
      this.refresh();
      return opened;
    } catch (error) {
      this.openError = problem(error);
      return null;
    } finally {
      this.opening = false;
      this._emit();
    }
  }

  /** Teachers: stop taking answers to the question shown. */
  close(): Promise<void> {
    return this._act('close', id => this.api.closeLive(id));
  }

  /** Teachers: show the students the answer (closes the question if open). */
  reveal(): Promise<void> {
    return this._act('reveal', id => this.api.revealLive(id));
  }

  async loadHistory(): Promise<void> {
    this._wantHistory = true;
    try {
      this.history = await this.api.liveHistory();
      this.historyError = null;
    } catch (error) {
      this.historyError = problem(error);
    }
    this._emit();
  }

  /** Teachers: show an earlier question in the live view (null: the current one). */
  async view(id: number | null): Promise<void> {
    if (id === null || id === this.question?.id) {
      this.viewed = null;
      this._emit();
      return;
    }
    try {
      this.viewed = await this.api.liveQuestion(id);
      this.historyError = null;
    } catch (error) {
      this.historyError = problem(error);
    }
    this._emit();
  }

  /** Where the teacher downloads a question's answers. */
  csvUrl(id: number): string {
    return this.api.downloadUrl(`live/${id}/results.csv`);
  }

  dispose(): void {
    this._abort?.abort();
    this.poll?.dispose();
    this.poll = null;
    Signal.clearData(this);
  }

  private async _act(
    kind: 'close' | 'reveal',
    call: (id: number) => Promise<ILiveQuestion>
  ): Promise<void> {
    const q = this.shown;
    if (!q || this.acting) {
      return;
    }
    this.acting = kind;
    this.actionError = null;
    this._emit();
    try {
      const done = await call(q.id);
      if (this.question?.id === done.id) {
        this._setQuestion(done);
      }
      if (this.viewed?.id === done.id) {
        this.viewed = done;
      }
      this.refresh();
    } catch (error) {
      this.actionError = problem(error);
    } finally {
      this.acting = null;
      this._emit();
    }
  }

  private _setQuestion(q: ILiveQuestion | null): void {
    const old = this.question;
    this.question = q;
    if (q?.id !== old?.id) {
      this.answerError = null;
    }
    if (q?.state === 'revealed' && this._panelVisible) {
      this._seenReveal = q.id;
    }
    // The history changes when a question opens, closes or is revealed.
    if (this._wantHistory && (q?.id !== old?.id || q?.state !== old?.state)) {
      void this.loadHistory();
    }
  }

  /** Slow down if the service answers at once without news, instead of waiting. */
  private _pace(slow: boolean): void {
    if (!this.poll) {
      return;
    }
    const interval = slow ? LIVE_SLOW_INTERVAL : LIVE_INTERVAL;
    if (this.poll.frequency.interval !== interval) {
      this.poll.frequency = { interval, backoff: true, max: LIVE_MAX_INTERVAL };
    }
  }

  private _emit(): void {
    this._changed.emit();
  }

  private _changed = new Signal<this, void>(this);
  private _abort: AbortController | null = null;
  private _answers = 0;
  private _panelVisible = false;
  private _seenReveal: number | null = null;
  private _wantHistory = false;
}
