/**
 * Typed calls of the course API.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import {
  ICluster,
  ICreateRequest,
  IHandins,
  ILiveQuestion,
  ILiveState,
  IMe,
  IOpenLiveRequest,
  IOpenReport,
  IOptionField,
  IProgram,
  IQuiz,
  IQuizQuestion,
  IReceipt
} from './model';
import { requestAPI } from './request';

export const CourseAPI = {
  program(): Promise<IProgram> {
    return requestAPI<IProgram>('sessions');
  },

  openSession(id: string): Promise<IOpenReport> {
    return requestAPI<IOpenReport>(`sessions/${encodeURIComponent(id)}/open`, {
      method: 'POST',
      body: '{}'
    });
  },

  quiz(id: string): Promise<IQuiz> {
    return requestAPI<IQuiz>(`sessions/${encodeURIComponent(id)}/quiz`);
  },

  answerQuiz(id: string, index: number, choice: string): Promise<IQuizQuestion> {
    return requestAPI<IQuizQuestion>(
      `sessions/${encodeURIComponent(id)}/quiz/${index + 1}`,
      { method: 'POST', body: JSON.stringify({ choice }) }
    );
  },

  me(): Promise<IMe> {
    return requestAPI<IMe>('me');
  },

  handins(id: string, latest = false): Promise<IHandins> {
    const query = latest ? '?latest=1' : '';
    return requestAPI<IHandins>(`sessions/${encodeURIComponent(id)}/handins${query}`);
  },

  handIn(id: string, notebook: string): Promise<IReceipt> {
    return requestAPI<IReceipt>(`sessions/${encodeURIComponent(id)}/handin`, {
      method: 'POST',
      body: JSON.stringify({ notebook })
    });
  },

  /** The live question; with `after`, waits (up to 25 s) for a newer version. */
  live(after?: number, signal?: AbortSignal): Promise<ILiveState> {
    const query = after === undefined ? '' : `?after=${after}`;
    return requestAPI<ILiveState>(`live${query}`, { signal });
  },

  openLive(request: IOpenLiveRequest): Promise<ILiveQuestion> {
    return requestAPI<ILiveQuestion>('live', {
      method: 'POST',
      body: JSON.stringify(request)
    });
  },

  liveQuestion(id: number): Promise<ILiveQuestion> {
    return requestAPI<ILiveQuestion>(`live/${id}`);
  },

  async liveHistory(): Promise<ILiveQuestion[]> {
    const reply = await requestAPI<{ questions: ILiveQuestion[] }>('live/history');
    return reply.questions;
  },

  answerLive(id: number, choice: number): Promise<ILiveQuestion> {
    return requestAPI<ILiveQuestion>(`live/${id}/answer`, {
      method: 'POST',
      body: JSON.stringify({ choice })
    });
  },

  closeLive(id: number): Promise<ILiveQuestion> {
    return requestAPI<ILiveQuestion>(`live/${id}/close`, {
      method: 'POST',
      body: '{}'
    });
  },

  revealLive(id: number): Promise<ILiveQuestion> {
    return requestAPI<ILiveQuestion>(`live/${id}/reveal`, {
      method: 'POST',
      body: '{}'
    });
  },

  /** A link the browser downloads with the user's login (GET, cookie). */
  downloadUrl(endPoint: string): string {
    const settings = ServerConnection.makeSettings();
    return URLExt.join(settings.baseUrl, 'course', 'api', endPoint);
  },

  async clusters(): Promise<ICluster[]> {
    const reply = await requestAPI<{ clusters: ICluster[] }>('clusters');
    return reply.clusters;
  },

  async clusterOptions(): Promise<IOptionField[]> {
    const reply = await requestAPI<{ fields: IOptionField[] }>('cluster-options');
    return reply.fields;
  },

  createCluster(request: ICreateRequest): Promise<ICluster> {
    return requestAPI<ICluster>('clusters', {
      method: 'POST',
      body: JSON.stringify(request)
    });
  },

  scaleCluster(name: string, workers: number): Promise<ICluster> {
    return requestAPI<ICluster>(`clusters/${encodeURIComponent(name)}`, {
      method: 'PATCH',
      body: JSON.stringify({ workers })
    });
  },

  adaptCluster(name: string, minimum: number, maximum: number): Promise<ICluster> {
    return requestAPI<ICluster>(`clusters/${encodeURIComponent(name)}`, {
      method: 'PATCH',
      body: JSON.stringify({ adaptive: { minimum, maximum } })
    });
  },

  async stopCluster(name: string): Promise<void> {
    await requestAPI<void>(`clusters/${encodeURIComponent(name)}`, {
      method: 'DELETE'
    });
  }
};
