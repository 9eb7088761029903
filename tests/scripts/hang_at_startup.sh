#!/bin/sh
# A "Python" that hangs at start-up: gil-lab's probe must time out and say so.
sleep 60
