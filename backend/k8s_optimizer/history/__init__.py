"""The usage history store (SQLite): raw samples, rollups and decaying histograms that survive restarts."""
