/**
 * Typed calls of the course API.
 */
import {
  ICluster,
  ICreateRequest,
  IOpenReport,
  IOptionField,
  IProgram,
  IQuiz,
  IQuizQuestion
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
