/**
 * The panel's state: the program, the student's clusters and what is in
 * progress, with one signal the views listen to. The API is injected, so the
 * logic is tested with Jest against a fake, without JupyterLab.
 */
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { needsFastPoll, reportLines } from './format';
import { ILiveAPI, LiveModel } from './live';
import {
  IAssignment,
  ICluster,
  ICreateRequest,
  IHandins,
  IMe,
  IOpenReport,
  IOptionField,
  IProgram,
  IQuiz,
  IQuizQuestion,
  IReceipt,
  ISession
} from './model';

export interface ICourseAPI extends ILiveAPI {
  program(): Promise<IProgram>;
  openSession(id: string): Promise<IOpenReport>;
  quiz(id: string): Promise<IQuiz>;
  answerQuiz(id: string, index: number, choice: string): Promise<IQuizQuestion>;
  clusters(): Promise<ICluster[]>;
  clusterOptions(): Promise<IOptionField[]>;
  createCluster(request: ICreateRequest): Promise<ICluster>;
  scaleCluster(name: string, workers: number): Promise<ICluster>;
  adaptCluster(name: string, minimum: number, maximum: number): Promise<ICluster>;
  stopCluster(name: string): Promise<void>;
  me(): Promise<IMe>;
  handins(id: string, latest?: boolean): Promise<IHandins>;
  handIn(id: string, notebook: string): Promise<IReceipt>;
}

export interface IProblem {
  message: string;
  reason: string;
}

export interface ISessionReport {
  session: string;
  lines: string[];
  open: string | null;
}

/** Workers a cluster gets when no session preset applies. */
export const DEFAULT_WORKERS = 2;
/** Poll interval while a cluster is starting or scaling, in ms. */
export const FAST_POLL = 1000;

function problem(error: unknown): IProblem {
  const e = error as { message?: string; reason?: string };
  return {
    message: e?.message || 'Something went wrong. Reload the page.',
    reason: e?.reason || ''
  };
}

export class CourseModel {
  constructor(
    readonly api: ICourseAPI,
    options: { refreshInterval?: number; defaultSession?: string } = {}
  ) {
    this._interval = Math.max(1, options.refreshInterval ?? 5) * 1000;
    this.defaultSession = options.defaultSession ?? '';
    this.live = new LiveModel(api);
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Make the current session the one whose preset "New cluster" uses. */
  setCurrentSession(id: string | null): void {
    if (id !== this.currentSessionId) {
      this.currentSessionId = id;
      this._emit();
    }
  }

  /** The live quiz, followed for the plugin's whole life (see `LiveModel`). */
  readonly live: LiveModel;
  program: IProgram | null = null;
  programError: IProblem | null = null;
  clusters: ICluster[] | null = null;
  clustersError: IProblem | null = null;
  optionFields: IOptionField[] | null = null;
  /** Session whose open request is under way. */
  opening: string | null = null;
  report: ISessionReport | null = null;
  reportError: (IProblem & { session: string }) | null = null;
  creating = false;
  createError: IProblem | null = null;
  /** Cluster names with a scale or stop under way. */
  busy = new Set<string>();
  actionError: (IProblem & { cluster: string }) | null = null;
  currentSessionId: string | null = null;
  defaultSession: string;
  /** Quizzes by session id, loaded when the student opens one. */
  quizzes: Record<string, IQuiz> = {};
  quizErrors: Record<string, IProblem> = {};
  /** Who the user is for the course (a teacher sees everyone's hand-ins). */
  me: IMe | null = null;
  /** When the program was last loaded (ms): assignments count down from there. */
  programAt = 0;
  /** Hand-ins by session id, with when they were loaded (ms). */
  handins: Record<string, IHandins & { at: number }> = {};
  /** Why the last hand-in of a session failed (the service's sentence). */
  handinErrors: Record<string, IProblem> = {};
  /** Why a session's hand-ins could not be listed. */
  listErrors: Record<string, IProblem> = {};
  /** `<session>/<notebook>` being handed in. */
  handingIn: string | null = null;
  /** The receipt of the hand-in just made, by session id. */
  receipts: Record<string, IReceipt> = {};

  /** The session whose preset "New cluster" uses, if any. */
  presetSession(): ISession | null {
    const sessions = this.program?.sessions ?? [];
    for (const id of [this.currentSessionId, this.defaultSession]) {
      const s = sessions.find(x => x.id === id);
      if (s && s.cluster) {
        return s;
      }
    }
    return null;
  }

  /** What "New cluster" sends. */
  newClusterRequest(): ICreateRequest {
    const s = this.presetSession();
    return s ? { session: s.id } : { workers: DEFAULT_WORKERS };
  }

  async refreshProgram(): Promise<void> {
    try {
      this.program = await this.api.program();
      this.programAt = Date.now();
      this.programError = null;
    } catch (error) {
      this.programError = problem(error);
    }
    this._emit();
  }

  async refreshClusters(): Promise<void> {
    try {
      this.clusters = await this.api.clusters();
      this.clustersError = null;
    } catch (error) {
      this.clustersError = problem(error);
      this._emit();
      throw error; // lets the poll back off
    } finally {
      this._tune();
    }
    this._emit();
  }

  async loadOptions(): Promise<void> {
    if (this.optionFields) {
      return;
    }
    try {
      this.optionFields = await this.api.clusterOptions();
    } catch (error) {
      this.createError = problem(error);
    }
    this._emit();
  }

  /** Sync a session; returns the report (or null, the error being in the state). */
  async openSession(id: string): Promise<IOpenReport | null> {
    if (this.opening) {
      return null;
    }
    this.opening = id;
    this.reportError = null;
    this._emit();
    try {
      const report = await this.api.openSession(id);
      this.currentSessionId = id;
      this.report = { session: id, lines: reportLines(report), open: report.open };
      await this.refreshProgram();
      return report;
    } catch (error) {
      this.reportError = { ...problem(error), session: id };
      return null;
    } finally {
      this.opening = null;
      this._emit();
    }
  }

  async loadQuiz(id: string): Promise<void> {
    try {
      this.quizzes[id] = await this.api.quiz(id);
      delete this.quizErrors[id];
    } catch (error) {
      this.quizErrors[id] = problem(error);
    }
    this._emit();
  }

  /** Check one answer; the question comes back with the right answer and why. */
  async answerQuiz(id: string, index: number, choice: string): Promise<void> {
    try {
      const answered = await this.api.answerQuiz(id, index, choice);
      const quiz = this.quizzes[id];
      if (quiz) {
        quiz.questions[index] = answered;
        const done = quiz.questions.filter(q => q.choice !== null);
        quiz.score = {
          answered: done.length,
          // The first answer counts (a second try after seeing the answer does not).
          correct: done.filter(q => q.first_correct ?? q.correct).length,
          total: quiz.questions.length
        };
      }
      delete this.quizErrors[id];
    } catch (error) {
      this.quizErrors[id] = problem(error);
    }
    this._emit();
  }

  async loadMe(): Promise<void> {
    try {
      this.me = await this.api.me();
    } catch {
      this.me = null; // then the panel shows the student's view only
    }
    this.live.teacher = this.me?.teacher ?? false;
    this._emit();
  }

  /** A session's assignment, from whichever answer of the service is newest. */
  assignment(id: string): { assignment: IAssignment; at: number } | null {
    const listed = this.handins[id];
    if (listed?.assignment && listed.at >= this.programAt) {
      return { assignment: listed.assignment, at: listed.at };
    }
    const s = this.program?.sessions.find(x => x.id === id);
    return s?.assignment ? { assignment: s.assignment, at: this.programAt } : null;
  }

  /** The session's hand-ins: the student's own, or (teachers) each student's latest. */
  async loadHandins(id: string): Promise<void> {
    try {
      const listed = await this.api.handins(id, this.me?.teacher ?? false);
      this.handins[id] = { ...listed, at: Date.now() };
      delete this.listErrors[id];
    } catch (error) {
      this.listErrors[id] = problem(error);
    }
    this._emit();
  }

  /**
   * Hand in a notebook as saved; `save` first saves it if it is open with
   * unsaved changes. Returns the receipt, or null (the error is in the state).
   */
  async handIn(
    id: string,
    notebook: string,
    save: () => Promise<void> = async () => undefined
  ): Promise<IReceipt | null> {
    if (this.handingIn) {
      return null;
    }
    this.handingIn = `${id}/${notebook}`;
    delete this.handinErrors[id];
    this._emit();
    try {
      try {
        await save();
      } catch (error) {
        const why = (error as Error)?.message ?? '';
        throw {
          message:
            `Your notebook could not be saved, so it was not handed in. ${why}`.trim(),
          reason: 'save'
        };
      }
      const receipt = await this.api.handIn(id, notebook);
      this.receipts[id] = receipt;
      this.handingIn = null;
      await this.loadHandins(id);
      return receipt;
    } catch (error) {
      this.handingIn = null;
      if ((error as IProblem)?.reason === 'deadline') {
        await this.loadHandins(id); // the service's view of the deadline
      }
      this.handinErrors[id] = problem(error);
      return null;
    } finally {
      this.handingIn = null;
      this._emit();
    }
  }

  async createCluster(request?: ICreateRequest): Promise<ICluster | null> {
    if (this.creating) {
      return null;
    }
    this.creating = true;
    this.createError = null;
    this._emit();
    this.poll?.refresh(); // show the pending cluster as soon as the gateway has it
    try {
      const cluster = await this.api.createCluster(request ?? this.newClusterRequest());
      if (cluster.warning) {
        this.createError = { message: cluster.warning, reason: 'capped' };
      }
      await this._refreshQuietly();
      return cluster;
    } catch (error) {
      this.createError = problem(error);
      return null;
    } finally {
      this.creating = false;
      this._emit();
    }
  }

  scale(name: string, workers: number): Promise<void> {
    return this._act(name, () => this.api.scaleCluster(name, workers));
  }

  adapt(name: string, minimum: number, maximum: number): Promise<void> {
    return this._act(name, () => this.api.adaptCluster(name, minimum, maximum));
  }

  stop(name: string): Promise<void> {
    return this._act(name, () => this.api.stopCluster(name));
  }

  /** Start refreshing the cluster list; backs off on errors, idles when hidden. */
  startPolling(): void {
    if (this.poll) {
      return;
    }
    this.poll = new Poll({
      auto: true,
      factory: () => this.refreshClusters(),
      frequency: { interval: this._interval, backoff: true, max: 60 * 1000 },
      name: 'course:clusters',
      standby: () => !this._visible || 'when-hidden'
    });
  }

  setVisible(visible: boolean): void {
    this._visible = visible;
    this.live.setPanelVisible(visible);
    if (visible) {
      void this.poll?.refresh();
    }
  }

  /** Apply the user's settings. */
  configure(options: { refreshInterval?: number; defaultSession?: string }): void {
    if (options.refreshInterval !== undefined) {
      this._interval = Math.max(1, options.refreshInterval) * 1000;
      this._tune();
    }
    if (options.defaultSession !== undefined) {
      this.defaultSession = options.defaultSession;
    }
    this._emit();
  }

  dispose(): void {
    this.live.dispose();
    this.poll?.dispose();
    this.poll = null;
    Signal.clearData(this);
  }

  poll: Poll | null = null;

  private async _act(name: string, action: () => Promise<unknown>): Promise<void> {
    this.busy.add(name);
    this.actionError = null;
    this._emit();
    try {
      const result = (await action()) as ICluster | undefined;
      if (result && result.warning) {
        this.actionError = { message: result.warning, reason: 'capped', cluster: name };
      }
    } catch (error) {
      this.actionError = { ...problem(error), cluster: name };
    } finally {
      this.busy.delete(name);
      await this._refreshQuietly();
      this._emit();
    }
  }

  private async _refreshQuietly(): Promise<void> {
    try {
      await this.refreshClusters();
    } catch {
      // the error is in the state; the poll keeps trying
    }
  }

  /** Fast while a cluster is on its way, the configured pace otherwise. */
  private _tune(): void {
    if (!this.poll) {
      return;
    }
    const fast = this.creating || needsFastPoll(this.clusters ?? []);
    const interval = fast ? Math.min(FAST_POLL, this._interval) : this._interval;
    if (this.poll.frequency.interval !== interval) {
      this.poll.frequency = { interval, backoff: true, max: 60 * 1000 };
    }
  }

  private _emit(): void {
    this._changed.emit();
  }

  private _changed = new Signal<this, void>(this);
  private _interval: number;
  private _visible = true;
}
