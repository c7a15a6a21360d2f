import { LabIcon } from '@jupyterlab/ui-components';

/** A mortarboard over a small cluster graph: the Course sidebar's tab. */
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M12 3 1 8l11 5 9-4.1V15h2V8L12 3z"/>
    <path d="M5 12.2V16c0 1.7 3.1 3 7 3s7-1.3 7-3v-3.8l-7 3.2-7-3.2z"/>
  </g>
</svg>`;

export const courseIcon = new LabIcon({
  name: 'jupyter-course-hub:course',
  svgstr: svg
});
