"""``python -m course_hub.service``: run the course service."""

from .app import main

if __name__ == "__main__":
    main()
