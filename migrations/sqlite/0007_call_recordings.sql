-- A call's recording (`record` node): the WAV file's path, relative to the recordings
-- directory, once it is whole.
ALTER TABLE calls ADD COLUMN recording TEXT;
