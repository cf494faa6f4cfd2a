"""Dispatch: jobs and their repair timeline, crews, crew choice, travel times."""
