# The course's Python environment first on PATH in login shells too
# (/etc/profile.d, read after Debian's /etc/profile resets PATH): `bash -l`,
# `docker exec ... bash -l`, `su - jovyan`. JupyterLab's terminals run a
# non-login bash that keeps the server's PATH (jupyter-config/course_hub.json).
case ":${PATH}:" in
    *:/opt/venv/bin:*) ;;
    *) PATH="/opt/venv/bin:${PATH}" ;;
esac
export PATH VIRTUAL_ENV=/opt/venv
