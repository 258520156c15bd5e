"""The CNI executable: protocol in, allocation service calls, result out."""
