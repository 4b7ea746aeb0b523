export * from './tf';
export * from './backend/select-backend';
