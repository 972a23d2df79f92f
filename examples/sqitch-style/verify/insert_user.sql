-- Verify flipr:insert_user (fails with "function does not exist")
SELECT has_function_privilege('flipr.insert_user(text, text)', 'execute');
