"""The grading service: storage, the HTTP API, the work queue and their command line.

Exception hierarchy::

    Exception
     └── ServiceError        a request the service refuses; carries its HTTP status
          ├── Unauthorized   401: no or unknown bearer token
          ├── Forbidden      403: not yours, or not your role
          ├── NotFound       404: no such set, problem, submission or job
          ├── Conflict       409: the name is taken, or another upload of the set came first
          ├── Invalid        422: a broken file or value (problem-set and answers errors become this)
          ├── TooLarge       413: the body exceeds GRADER_MAX_BODY_BYTES, or its answers GRADER_MAX_ANSWERS_BYTES
          └── Unavailable    503: the database does not answer, or no problem-set load is free
"""
