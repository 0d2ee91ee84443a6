"""Web pages for students and instructors, served by the same service."""
