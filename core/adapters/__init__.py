"""Adapters after training: the one safe zip reader, export (zip, merged model, script, Hub push), loading an uploaded adapter."""
