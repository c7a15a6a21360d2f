/**
 * One wrapper for every call to the course API, as the JupyterLab extension
 * template does it: the server's base URL, the XSRF token and the login come
 * from the server connection settings.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** An error answered by the course API: its sentence is for the student. */
export class CourseApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason: string = ''
  ) {
    super(message);
    this.name = 'CourseApiError';
  }
}

const UNREACHABLE =
  'Your server did not answer. Check your connection, then reload the page.';

/**
 * Call `/course/api/<endPoint>` and return its JSON answer.
 *
 * Errors always become a `CourseApiError` with a sentence a student can act
 * on: the API's own message when it sent one, else a generic one.
 */
export async function requestAPI<T>(
  endPoint = '',
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, 'course', 'api', endPoint);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch {
    throw new CourseApiError(0, UNREACHABLE, 'network');
  }
  const text = await response.text();
  let data: any = null;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const message =
      data && typeof data.message === 'string'
        ? data.message
        : `The course service answered ${response.status}. Reload the page; ` +
          'if it keeps happening, tell your teacher.';
    throw new CourseApiError(response.status, message, data?.reason ?? '');
  }
  return data as T;
}
